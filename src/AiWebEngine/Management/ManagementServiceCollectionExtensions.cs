using AiWebEngine.Security;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>Registers the management API's services.</summary>
internal static class ManagementServiceCollectionExtensions
{
    public static IServiceCollection AddEngineManagement(this IServiceCollection services)
    {
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();
        services.AddSingleton<AdminAccess>();
        services.AddSingleton<IAdminCallers>(sp => sp.GetRequiredService<AdminAccess>());
        services.AddSingleton<LogBuffer>();
        // A logger provider like any other, so it sees what the logging configuration lets through.
        services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<LogBuffer>());
        services.AddSingleton<ScriptUpdates>();
        services.AddSingleton<ScriptReplication>();
        services.AddSingleton<ScriptStore>();
        services.AddSingleton<FeedStream>();
        services.AddSingleton<ScriptEndpoints>();
        services.AddSingleton<FeedEndpoints>();
        services.AddSingleton<StorageEndpoints>();
        return services;
    }
}
