using System.Diagnostics;
using System.Text.Json;

namespace SseLoad;

/// <summary>
/// Time from a script file change to the new version serving: writes a new version of
/// <c>--file</c> in place (as an editor saves), then polls <c>GET /version</c> until it answers the
/// new text. <c>--template</c> is the file's text with <c>VERSION</c> where the version goes.
/// </summary>
internal static class Reload
{
    public static int Run(Options o)
    {
        var port = o.Int("port");
        var file = o.String("file");
        var template = o.String("template");
        var count = o.Int("count", 10);
        var limit = TimeSpan.FromSeconds(o.Int("timeout", 15));
        var pause = TimeSpan.FromMilliseconds(o.Int("pause-ms", 500));
        if (!template.Contains("VERSION", StringComparison.Ordinal))
        {
            throw new ArgumentException("--template must contain VERSION");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var url = new Uri($"http://127.0.0.1:{port}/version");
        var run = Random.Shared.Next(100_000, 999_999);
        var samples = new List<double>();
        var failures = 0;
        for (var i = 1; i <= count; i++)
        {
            var version = $"v{run}-{i}";
            var t0 = Stopwatch.GetTimestamp();
            File.WriteAllText(file, template.Replace("VERSION", version, StringComparison.Ordinal));
            var served = false;
            while (Stopwatch.GetElapsedTime(t0) < limit)
            {
                try
                {
                    if (http.GetStringAsync(url).GetAwaiter().GetResult() == version)
                    {
                        served = true;
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // The peer restarts to reload: refused connections until it listens again.
                }

                Thread.Sleep(2);
            }

            var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (served)
            {
                samples.Add(ms);
                Log.Write($"reload {i}/{count}: {version} served after {ms:F0} ms");
            }
            else
            {
                failures++;
                Log.Write($"reload {i}/{count}: {version} not served within {limit.TotalSeconds:F0} s");
            }

            Thread.Sleep(pause);
        }

        samples.Sort();
        var result = new ReloadResult
        {
            Count = count,
            Failures = failures,
            SamplesMs = samples,
            P50Ms = samples.Count == 0 ? 0 : samples[(samples.Count - 1) / 2],
            MinMs = samples.Count == 0 ? 0 : samples[0],
            MaxMs = samples.Count == 0 ? 0 : samples[^1],
            MeanMs = samples.Count == 0 ? 0 : samples.Average(),
        };
        File.WriteAllText(o.String("out"), JsonSerializer.Serialize(result, Json.Options));
        return failures == 0 ? 0 : 1;
    }
}

internal sealed record ReloadResult
{
    public int Count { get; init; }
    public int Failures { get; init; }
    public List<double> SamplesMs { get; init; } = [];
    public double P50Ms { get; init; }
    public double MinMs { get; init; }
    public double MaxMs { get; init; }
    public double MeanMs { get; init; }
}
