using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// In a cluster, ASP.NET Core's data protection key ring — what encrypts and signs the session cookie and
/// the sign-in's correlation cookies — lives in Redis (<c>{KeyPrefix}data-protection:keys</c>), under one
/// application name per cluster, so a cookie that one instance issued is read by every other, on any machine.
/// </summary>
/// <remarks>
/// Invariant: with <c>AiWebEngine:Bus:Redis</c> set, this is the key ring whatever else configured one (set
/// in post-configuration); without it, ASP.NET Core's default stays (the machine's key directory,
/// discriminated by the content root). The keys are stored unencrypted, as the default directory stores them
/// on Linux: whoever can read that Redis can forge a session, as they can already replace the scripts.
/// </remarks>
internal static class RedisKeyRing
{
    public static void Add(IServiceCollection services)
    {
        services.AddDataProtection();
        services.AddOptions<KeyManagementOptions>().PostConfigure<IOptions<BusOptions>, IServiceProvider>((options, bus, provider) =>
        {
            if (bus.Value.UsesRedis)
            {
                var redis = provider.GetRequiredService<RedisBackplane>();
                options.XmlRepository = new RedisXmlRepository(() => redis.Database, bus.Value.KeyPrefix + "data-protection:keys");
            }
        });
        services.AddOptions<DataProtectionOptions>().PostConfigure<IOptions<BusOptions>>((options, bus) =>
        {
            if (bus.Value.UsesRedis)
            {
                options.ApplicationDiscriminator = "AiWebEngine " + bus.Value.KeyPrefix;
            }
        });
    }
}
