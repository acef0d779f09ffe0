using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Cli;

/// <summary>
/// A stand-in for the management API's <c>PUT /engine/scripts/{uri}</c> on a real loopback port: 201 for
/// a script, 422 with the line for one containing <c>throw</c>, 401 without the expected token.
/// </summary>
internal sealed class FakeScriptsEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeScriptsEndpoint(WebApplication app, ConcurrentQueue<Upload> uploads)
    {
        _app = app;
        Uploads = uploads;
    }

    public sealed record Upload(string Uri, string Body, string? Authorization);

    public ConcurrentQueue<Upload> Uploads { get; }

    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    public static async Task<FakeScriptsEndpoint> StartAsync(string? token = null, int port = 0, ConcurrentQueue<Upload>? uploads = null)
    {
        uploads ??= new ConcurrentQueue<Upload>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPut("/engine/scripts/{**uri}", async (HttpContext context, string uri) =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var authorization = context.Request.Headers.Authorization.ToString();
            if (token is not null && authorization != $"Bearer {token}")
            {
                return Results.Json(new { error = new { code = "UNAUTHORIZED", message = "missing or wrong token" }, status = 401 }, statusCode: 401);
            }

            uploads.Enqueue(new Upload(uri, body, authorization.Length == 0 ? null : authorization));
            var line = body.Split('\n').ToList().FindIndex(l => l.Contains("throw", StringComparison.Ordinal));
            return line >= 0
                ? Results.Json(new { error = new { code = "SCRIPT_LOAD_FAILED", message = "Error: boom", details = new { uri, line = line + 1 } }, status = 422 }, statusCode: 422)
                : Results.Json(new { uri, created = true }, statusCode: 201);
        });
        await app.StartAsync();
        return new FakeScriptsEndpoint(app, uploads);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
