using System.Reflection;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Diagnostics;

/// <summary>Log event ids are stable and name one event each, so a log query by id finds one kind of line.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void LoggerMessageEventIds_AreUnique_AcrossTheEngine()
    {
        var events = typeof(AiWebEngine.Errors.ErrorCodes).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .Select(e => (e.Attribute!.EventId, Name: $"{e.Method.DeclaringType!.Name}.{e.Method.Name}"))
            .ToList();

        var duplicates = events.GroupBy(e => e.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}").ToList();

        Assert.True(events.Count > 10, $"only {events.Count} [LoggerMessage] methods found");
        Assert.True(duplicates.Count == 0, "event ids used twice:\n" + string.Join('\n', duplicates));
    }
}
