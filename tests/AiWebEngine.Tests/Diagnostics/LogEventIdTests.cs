using System.Reflection;
using AiWebEngine.Management;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Diagnostics;

/// <summary>Every [LoggerMessage] of the engine has its own event id, so that a log query by id finds one kind of line.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLoggerMessage_HasAnEventIdOfItsOwn()
    {
        var messages = typeof(AdminAccess).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        var duplicates = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();

        Assert.True(messages.Count > 20, $"found only {messages.Count} [LoggerMessage] methods");
        Assert.Empty(duplicates);
    }
}
