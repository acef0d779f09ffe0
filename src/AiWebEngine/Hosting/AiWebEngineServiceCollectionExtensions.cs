using AiWebEngine.Diagnostics;
using AiWebEngine.Diagnostics.Health;
using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.GraphQL;
using AiWebEngine.Hosting;
using AiWebEngine.Management;
using AiWebEngine.RateLimiting;
using AiWebEngine.Routing;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using AiWebEngine.Streaming.Redis;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the engine's services.</summary>
public static class AiWebEngineServiceCollectionExtensions
{
    /// <summary>
    /// Adds the script host, the script routes, the streams and their topic bus, the GraphQL transports, the health endpoints, metrics and the management API, with options bound from the
    /// <c>AiWebEngine</c> configuration section and validated at start.
    /// </summary>
    public static IAiWebEngineBuilder AddAiWebEngine(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AiWebEngineMarker>();

        services.AddOptions<ScriptOptions>().BindConfiguration(ScriptOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ScriptOptions>, ScriptOptionsValidator>();
        services.AddSingleton<IValidateOptions<ScriptOptions>, ScriptDirectoryValidator>();
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpOptions>, HttpOptionsValidator>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpOptions>>((kestrel, http) =>
        {
            kestrel.Limits.MaxRequestBodySize = http.Value.MaxRequestBodyBytes;
        });
        AddInlineSocketSends(services);

        // Connection caps, header and keep-alive timeouts (see ConnectionLimits): a client that holds
        // connections without finishing a request must not take the descriptors the process needs.
        services.AddSingleton<ConnectionLimits>();
        services.AddOptions<KestrelServerOptions>().Configure<ConnectionLimits, IOptions<HttpOptions>>((kestrel, limits, http) =>
        {
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxUpgradedConnections;
            kestrel.Limits.RequestHeadersTimeout = http.Value.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = http.Value.KeepAliveTimeout;
        });

        services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.SectionName)
            .PostConfigure<ConnectionLimits>((streams, limits) => streams.MaxConnections ??= limits.DefaultStreamConnections)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StreamOptions>, StreamOptionsValidator>();
        services.AddSingleton<IValidateOptions<StreamOptions>, StreamConnectionsValidator>();
        services.AddOptions<BusOptions>().BindConfiguration(BusOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BusOptions>, BusOptionsValidator>();
        services.AddSingleton<TopicOwners>();
        services.AddSingleton<InMemoryTopicBus>();
        services.AddSingleton<RedisBackplane>();
        // In a cluster the session cookie's keys are the cluster's, so any instance reads a cookie another issued.
        RedisKeyRing.Add(services);
        services.AddSingleton<RedisTopicBus>();
        // In memory unless AiWebEngine:Bus:Redis is set; then a cluster on Redis (streams and managed scripts).
        services.TryAddSingleton<ITopicBus>(sp => sp.GetRequiredService<IOptions<BusOptions>>().Value.UsesRedis
            ? sp.GetRequiredService<RedisTopicBus>()
            : sp.GetRequiredService<InMemoryTopicBus>());
        services.AddHostedService<ClusterServices>();
        services.AddSingleton<StreamRegistry>();
        services.AddSingleton<StreamPublisher>();
        services.AddSingleton<StreamConnectionLimiter>();
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitPoliciesValidator>();
        services.AddSingleton<ClientRateLimiter>();
        services.AddSingleton<SseKeepAlive>();
        services.AddSingleton<SseEndpoint>();
        services.AddSingleton<StreamEndpoint>();
        services.AddSingleton<StreamEndpointDataSource>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, StreamPathMatcherPolicy>());

        services.AddSingleton<GraphQLRegistry>();
        services.AddSingleton<IGraphQLSchemaProvider>(sp => sp.GetRequiredService<GraphQLRegistry>());
        services.AddSingleton<SubscriptionPublisher>();
        services.AddSingleton<SubscriptionStreamEndpoint>();
        services.AddAiWebEngineGraphQL();

        services.AddSingleton<ScriptWatchdog>();
        services.AddSingleton<ScriptSecrets>();
        services.AddSingleton<ScheduleBoard>();
        services.AddOptions<AiWebEngine.Scripting.Fetch.FetchOptions>().BindConfiguration(AiWebEngine.Scripting.Fetch.FetchOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AiWebEngine.Scripting.Fetch.ScriptFetcher>();
        AiWebEngine.Scripting.Fetch.ScriptFetcher.Configure(services);
        services.AddOptions<AiWebEngine.Scripting.Storage.StorageOptions>().BindConfiguration(AiWebEngine.Scripting.Storage.StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AiWebEngine.Scripting.Storage.ScriptStorage>();
        services.AddSingleton<RedisTickLease>();
        // Once per tick: on its own an instance runs every tick of its jobs; in a cluster, the one that takes the tick in Redis.
        services.TryAddSingleton<ITickLease>(sp => sp.GetRequiredService<IOptions<BusOptions>>().Value.UsesRedis
            ? sp.GetRequiredService<RedisTickLease>()
            : new LocalTickLease());
        services.AddSingleton<ScriptLogger>();
        services.AddSingleton<RouteTable>();
        services.AddSingleton<ScriptStreams>();
        services.AddSingleton<RegistrationCoordinator>();
        services.AddSingleton<ScriptManager>();
        services.AddSingleton<ScriptDirectory>();
        services.AddHostedService(sp => sp.GetRequiredService<ScriptDirectory>());

        services.AddSingleton<ScriptRouteHandler>();
        services.AddSingleton<ScriptEndpointDataSource>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, ReservedPathMatcherPolicy>());
        services.AddSingleton<HealthReport>();
        services.AddEngineManagement();
        services.AddHealthChecks().Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(
            ScriptsReadyHealthCheck.Name,
            sp => new ScriptsReadyHealthCheck(sp.GetRequiredService<ScriptDirectory>().InitialLoad),
            failureStatus: null,
            tags: [HealthEndpoints.ReadyTag]));
        // Only a cluster instance has a Redis readiness check: single-node readiness is unchanged.
        services.AddOptions<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckServiceOptions>().Configure<IOptions<BusOptions>>((health, bus) =>
        {
            if (bus.Value.UsesRedis)
            {
                health.Registrations.Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(
                    RedisHealthCheck.Name,
                    sp => ActivatorUtilities.CreateInstance<RedisHealthCheck>(sp),
                    failureStatus: null,
                    tags: [HealthEndpoints.ReadyTag]));
            }
        });
        MetricsEndpoint.AddServices(services);
        services.AddRouting();
        AiWebEngine.Security.EngineAuthentication.Add(services);
        AiWebEngine.Security.EngineCors.Add(services);

        return new AiWebEngineBuilder(services);
    }

    /// <summary>
    /// Wraps Kestrel's socket transport in <see cref="InlineSocketSends"/> (on or off by
    /// <c>AiWebEngine:Http:InlineSocketSends</c>, read when Kestrel binds).
    /// </summary>
    /// <remarks>
    /// At the transport, not through <c>ConfigureEndpointDefaults</c>: Kestrel keeps one endpoint-defaults
    /// action and cannot hand back the one a host set, so either the host's (HTTP/2-only, HTTPS) or the
    /// engine's would be lost. The socket transport that <c>UseKestrel</c> registered is replaced by the
    /// same transport wrapped; a host that registers another transport after this keeps its own.
    /// </remarks>
    private static void AddInlineSocketSends(IServiceCollection services)
    {
        static IConnectionListenerFactory Wrapped(IServiceProvider sp) => new InlineSocketSends(
            ActivatorUtilities.CreateInstance<SocketTransportFactory>(sp),
            sp.GetRequiredService<IOptions<HttpOptions>>(),
            sp.GetRequiredService<IOptions<KestrelServerOptions>>());

        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IConnectionListenerFactory) && !d.IsKeyedService);
        if (registered is null)
        {
            // Kestrel not added yet: its TryAdd of the socket transport then finds this one.
            services.AddSingleton(Wrapped);
        }
        else if (registered.ImplementationType == typeof(SocketTransportFactory))
        {
            services.Remove(registered);
            services.AddSingleton(Wrapped);
        }
    }
}
