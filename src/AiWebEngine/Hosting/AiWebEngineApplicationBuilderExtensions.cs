using AiWebEngine.Diagnostics;
using AiWebEngine.Diagnostics.Health;
using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.Errors;
using AiWebEngine.GraphQL;
using AiWebEngine.Management;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the engine to the request pipeline.</summary>
public static class AiWebEngineApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the engine's middleware: request ids on every response, JSON bodies for the
    /// framework's empty error responses, WebSockets (for GraphQL subscriptions), routing,
    /// authentication and authorization. Call it first.
    /// </summary>
    public static IApplicationBuilder UseAiWebEngine(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        EnsureAdded(app.ApplicationServices);
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseStatusCodePages(StatusCodeErrors.WriteAsync);
        // No AllowedOrigins here: the one WebSocket endpoint (/graphql) checks Origin itself, against the
        // request's own origin and AiWebEngine:GraphQL:AllowedOrigins, and refuses with a JSON 403.
        app.UseWebSockets(new WebSocketOptions
        {
            KeepAliveInterval = app.ApplicationServices.GetRequiredService<IOptions<GraphQLOptions>>().Value.KeepAliveInterval,
        });
        // Routing, then who is calling, then how often they may (per-client rate limits,
        // AiWebEngine:RateLimits, before anything of a request runs), then what they may do. CORS and the
        // cross-site check come first: they need no caller, and a refused request must reach nothing else.
        app.UseRouting();
        AiWebEngine.Security.EngineCors.Use(app);
        app.UseAuthentication();
        app.UseMiddleware<AiWebEngine.Hosting.RateLimitMiddleware>();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Maps the routes and stream paths that scripts register, the GraphQL transports (<c>/graphql</c>, <c>/graphql/sse</c>,
    /// <c>/graphql/schema.graphql</c>), <c>GET /health</c>, <c>/health/live</c>, <c>/health/ready</c>,
    /// <c>GET /metrics</c> and the management API under <c>/engine</c> (admins only).
    /// </summary>
    public static IEndpointConventionBuilder MapAiWebEngine(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EnsureAdded(endpoints.ServiceProvider);

        endpoints.DataSources.Add(endpoints.ServiceProvider.GetRequiredService<StreamEndpointDataSource>());
        endpoints.DataSources.Add(endpoints.ServiceProvider.GetRequiredService<ScriptEndpointDataSource>());

        var health = endpoints.ServiceProvider.GetRequiredService<HealthReport>();
        var group = endpoints.MapGroup("");
        group.MapGet("/health", health.WriteAsync).WithDisplayName("AiWebEngine health");
        HealthEndpoints.Map(group);
        MetricsEndpoint.Map(group);
        var subscriptions = endpoints.ServiceProvider.GetRequiredService<SubscriptionStreamEndpoint>();
        group.MapGet(SubscriptionStreamEndpoint.Pattern, subscriptions.ServeAsync).WithDisplayName("GraphQL subscription as EventSource")
            .WithMetadata(AiWebEngine.Security.AcceptsQueryToken.Instance);
        group.MapAiWebEngineGraphQL();
        group.MapEngineManagement();
        AiWebEngine.Security.SignInEndpoints.Map(group);
        if (endpoints.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>(BaselineEndpoint.ConfigurationKey))
        {
            group.MapGet(BaselineEndpoint.Path, BaselineEndpoint.WriteAsync).WithDisplayName("AiWebEngine C# baseline");
        }

        return group;
    }

    private static void EnsureAdded(IServiceProvider services)
    {
        if (services.GetService<AiWebEngineMarker>() is null)
        {
            throw new InvalidOperationException("The engine's services are missing. Call builder.Services.AddAiWebEngine() before UseAiWebEngine() and MapAiWebEngine().");
        }
    }
}
