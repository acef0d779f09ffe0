using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace SseLoad;

/// <summary>
/// bench/run.sh's side-by-side report: the engine's and the peer's results (bench/results/raw/engine,
/// bench/results/raw/peer) in one markdown file with the ratios and the issue's targets, and one PNG
/// chart (ScottPlot 5).
/// </summary>
internal static class Compare
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    private sealed record Side(
        Dictionary<(string Protocol, string Name, int Clients), FanoutResult> Fanouts,
        IdleResult? Idle,
        JsonElement? Queries,
        JsonElement? Http,
        ReloadResult? Reload);

    public static int Write(Options o)
    {
        var engine = Load(o.String("engine"));
        var peer = Load(o.String("peer"));
        var clients = engine.Fanouts.Keys.Concat(peer.Fanouts.Keys).Select(k => k.Clients).Distinct().Order().ToArray();
        var rate = o.String("rate", "100");
        var fixedName = $"{rate} msg/s";
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks: AiWebEngine side by side with GraphQL Yoga 5")
            .AppendLine()
            .AppendLine(s_inv, $"- date: {o.String("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", s_inv))}")
            .AppendLine(s_inv, $"- machine: {o.String("machine", "?")}")
            .AppendLine(s_inv, $"- engine: {o.String("engine-info", "?")}")
            .AppendLine(s_inv, $"- peer: {o.String("peer-info", "?")}")
            .AppendLine(s_inv, $"- commit: {o.String("commit", "?")}")
            .AppendLine("- command: `bash bench/run.sh`; every server on 127.0.0.1, one at a time, with the load client on the same machine (it shares the CPUs with the server: see *client-bound*)")
            .AppendLine();

        // The targets of issue 6.
        md.AppendLine("## Targets").AppendLine()
            .AppendLine("| measure | engine | peer (Yoga / Node.js) | engine's advantage | target | met |")
            .AppendLine("|---|---:|---:|---:|---|---|");
        foreach (var n in clients)
        {
            Target(md, $"stream fan-out, saturation, {n:N0} clients: server CPU µs/delivery",
                Get(engine, "sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery, Get(peer, "sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery,
                "≤ 2 µs", v => v <= 2, "F2");
        }

        Target(md, "stream, one message at a time to 5,000 clients: p99 ms",
            Get(engine, "sse", "one at a time", 5000)?.LatencyP99Ms, Get(peer, "sse", "one at a time", 5000)?.LatencyP99Ms, "≤ 50 ms", v => v <= 50, "F1");
        var fixed1000 = Get(engine, "sse", fixedName, 1000);
        Target(md, $"stream, 1,000 clients × {fixedName}: p99 ms (lost)",
            fixed1000?.LatencyP99Ms, Get(peer, "sse", fixedName, 1000)?.LatencyP99Ms, "≤ 20 ms, 0 lost",
            v => v <= 20 && fixed1000!.Lost == 0 && fixed1000.Duplicates == 0 && fixed1000.OutOfOrder == 0, "F1",
            fixed1000 is null ? "" : $" ({fixed1000.Lost:N0})");
        var gfixed1000 = Get(engine, "graphql-sse", fixedName, 1000);
        Target(md, $"graphql-sse, 1,000 clients × {fixedName}: p99 ms (lost)",
            gfixed1000?.LatencyP99Ms, Get(peer, "graphql-sse", fixedName, 1000)?.LatencyP99Ms, "≤ 20 ms, 0 lost",
            v => v <= 20 && gfixed1000!.Lost == 0 && gfixed1000.Duplicates == 0 && gfixed1000.OutOfOrder == 0, "F1",
            gfixed1000 is null ? "" : $" ({gfixed1000.Lost:N0})");
        foreach (var n in clients)
        {
            Target(md, $"graphql-sse fan-out, saturation, {n:N0} clients: server CPU µs/delivery",
                Get(engine, "graphql-sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery, Get(peer, "graphql-sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery,
                "≤ 4 µs", v => v <= 4, "F2");
        }

        foreach (var n in clients.Where(n => n >= 1000))
        {
            var e = Get(engine, "graphql-sse", "saturation", n)?.DeliveriesPerSecond;
            var p = Get(peer, "graphql-sse", "saturation", n)?.DeliveriesPerSecond;
            Target(md, $"graphql-sse fan-out, saturation, {n:N0} clients: deliveries/s", e, p, "≥ 5 × peer",
                v => p is > 0 && v >= 5 * p.Value, "N0");
        }

        Target(md, $"memory per idle SSE connection at {engine.Idle?.Connected ?? peer.Idle?.Connected ?? 0:N0} connections: KiB",
            engine.Idle?.ServerKiBPerConnection, peer.Idle?.ServerKiBPerConnection, "≤ 16 KB (15.6 KiB)", v => v <= 16000 / 1024.0, "F1");
        var eq = Number(engine.Queries, "graphql", "rps");
        var pq = Number(peer.Queries, "graphql", "rps");
        Target(md, "`{ hello }` from a JS resolver: queries/s", eq, pq, "≥ 5 × peer", v => pq is > 0 && v >= 5 * pq.Value, "N0");
        var js = Number(engine.Http, "js", "rps");
        var cs = Number(engine.Http, "cs", "rps");
        md.AppendLine(s_inv,
            $"| `GET /hello` from a JS handler: requests/s (peer: Node.js handler) | {N(js, "N0")} | {N(Number(peer.Queries, "route", "rps"), "N0")} | {Ratio(js, Number(peer.Queries, "route", "rps"))} | ≥ 50 % of the C# baseline ({N(cs, "N0")}/s): **{(js is { } j && cs is > 0 ? (j / cs.Value * 100).ToString("F1", s_inv) + " %" : "–")}** | {Met(js is { } jj && cs is > 0 ? jj >= 0.5 * cs.Value : null)} |");
        md.AppendLine(s_inv,
            $"| script file change to the new version serving: p50 / max ms (peer: `node --watch` restart) | {N(engine.Reload?.P50Ms, "F0")} / {N(engine.Reload?.MaxMs, "F0")} | {N(peer.Reload?.P50Ms, "F0")} / {N(peer.Reload?.MaxMs, "F0")} | {Ratio(peer.Reload?.P50Ms, engine.Reload?.P50Ms)} | – | |");
        md.AppendLine();
        var targetsEnd = md.Length;
        md.AppendLine("engine's advantage: how many times better the engine did (the peer's number over the engine's for µs, ms and KiB, where lower is better; the engine's over the peer's for /s). A dash: not measured (see the notes of `streams*.md` and `graphql*.md`: a fixed rate is skipped where saturation delivered less than it needs).")
            .AppendLine();

        // Every fan-out scenario side by side.
        foreach (var (protocol, title) in new[] { ("sse", "Stream fan-out (`GET /feed`; the peer: a hand-written Node.js SSE stream)"), ("graphql-sse", "Subscription fan-out (`POST /graphql/sse`, `subscription { liveEvents }`; the peer: GraphQL Yoga 5 over SSE)") })
        {
            md.AppendLine(s_inv, $"## {title}").AppendLine()
                .AppendLine("| scenario | clients | deliveries/s engine | peer | × | p50 / p99 / max ms engine | peer | server CPU µs/delivery engine | peer | lost / dup / out-of-order engine | peer | client-bound engine / peer |")
                .AppendLine("|---|---:|---:|---:|---:|---|---|---:|---:|---|---|---|");
            string[] order = ["one at a time", "saturation", fixedName, "saturation, open loop"];
            var names = engine.Fanouts.Keys.Concat(peer.Fanouts.Keys).Where(k => k.Protocol == protocol).Select(k => k.Name).Distinct()
                .OrderBy(n => Array.IndexOf(order, n) is var i && i < 0 ? order.Length : i).ToList();
            foreach (var n in clients)
            {
                foreach (var name in names)
                {
                    var e = Get(engine, protocol, name, n);
                    var p = Get(peer, protocol, name, n);
                    if (e is null && p is null)
                    {
                        continue;
                    }

                    md.AppendLine(s_inv,
                        $"| {name} | {n:N0} | {N(e?.DeliveriesPerSecond, "N0")} | {N(p?.DeliveriesPerSecond, "N0")} | {Ratio(e?.DeliveriesPerSecond, p?.DeliveriesPerSecond)} | {Lat(e)} | {Lat(p)} | {N(e?.ServerCpuMicrosecondsPerDelivery, "F2")} | {N(p?.ServerCpuMicrosecondsPerDelivery, "F2")} | {Losses(e)} | {Losses(p)} | {Bound(e)} / {Bound(p)} |");
                }
            }

            md.AppendLine();
        }

        md.AppendLine("**one at a time**: the next message is published when every client has the last one, so each latency is one message reaching all N clients. **saturation**: as fast as the slowest client receives (at most 64 messages not yet received by every client), the highest rate without overflow. Details, definitions and every number per target: `streams.md`, `streams-peer.md`, `graphql.md`, `graphql-peer.md`, `http.md`.")
            .AppendLine();

        var chart = o.String("chart", "");
        if (chart.Length > 0)
        {
            Chart(chart, engine, peer, clients);
            md.AppendLine(s_inv, $"![engine and peer side by side]({Path.GetFileName(chart)})").AppendLine();
        }

        File.WriteAllText(o.String("out"), md.ToString());

        // The README's part: when and where, the targets table, the chart.
        var readme = o.String("readme", "");
        if (readme.Length > 0)
        {
            var targets = md.ToString(0, targetsEnd);
            var table = targets[targets.IndexOf("| measure", StringComparison.Ordinal)..].TrimEnd();
            var part = new StringBuilder()
                .AppendLine(s_inv, $"Latest `bash bench/run.sh`: {o.String("date", "?")}, commit {o.String("commit", "?")}, on {o.String("machine", "?")}; engine: {o.String("engine-info", "?")}; peer: {o.String("peer-info", "?")}. The load client shares the machine's cores with the server under test.")
                .AppendLine()
                .AppendLine(table)
                .AppendLine()
                .AppendLine("engine's advantage: how many times better the engine did (µs, ms, KiB: the peer's number over the engine's; /s: the engine's over the peer's). Every scenario side by side, with p50/p99/max, losses and whether the load client was the bottleneck: [`bench/results/summary.md`](bench/results/summary.md).")
                .AppendLine();
            if (chart.Length > 0)
            {
                part.AppendLine(s_inv, $"![engine and peer side by side](bench/results/{Path.GetFileName(chart)})");
            }

            File.WriteAllText(readme, part.ToString());
        }

        return 0;
    }

    private static Side Load(string dir)
    {
        var fanouts = new Dictionary<(string, string, int), FanoutResult>();
        IdleResult? idle = null;
        foreach (var file in Directory.Exists(dir) ? Directory.GetFiles(dir, "*.json") : [])
        {
            var name = Path.GetFileName(file);
            var isFanout = System.Text.RegularExpressions.Regex.IsMatch(name, @"^(streams|graphql)-\d\d-");
            if (isFanout)
            {
                var r = JsonSerializer.Deserialize<FanoutResult>(File.ReadAllText(file), Json.Options)!;
                fanouts[(r.Protocol, r.Name, r.Clients)] = r;
            }
            else if (name.StartsWith("streams-idle-", StringComparison.Ordinal))
            {
                idle = JsonSerializer.Deserialize<IdleResult>(File.ReadAllText(file), Json.Options);
            }
        }

        return new Side(fanouts, idle, ReadJson(Path.Combine(dir, "graphql-queries.json")), ReadJson(Path.Combine(dir, "http-summary.json")),
            File.Exists(Path.Combine(dir, "reload.json")) ? JsonSerializer.Deserialize<ReloadResult>(File.ReadAllText(Path.Combine(dir, "reload.json")), Json.Options) : null);
    }

    private static JsonElement? ReadJson(string file) =>
        File.Exists(file) ? JsonDocument.Parse(File.ReadAllText(file)).RootElement.Clone() : null;

    private static double? Number(JsonElement? e, string a, string b) =>
        e is { } root && root.TryGetProperty(a, out var x) && x.TryGetProperty(b, out var y) && y.ValueKind == JsonValueKind.Number ? y.GetDouble() : null;

    private static FanoutResult? Get(Side side, string protocol, string name, int clients) =>
        side.Fanouts.GetValueOrDefault((protocol, name, clients));

    private static void Target(StringBuilder md, string label, double? engine, double? peer, string target, Func<double, bool> met, string format, string suffix = "") =>
        md.AppendLine(s_inv, $"| {label} | {N(engine, format)}{suffix} | {N(peer, format)} | {(LowerIsBetter(label) ? Ratio(peer, engine) : Ratio(engine, peer))} | {target} | {Met(engine is { } v ? met(v) : null)} |");

    private static bool LowerIsBetter(string label) => !label.EndsWith("/s", StringComparison.Ordinal);

    private static string Met(bool? met) => met switch { true => "yes", false => "**no**", null => "–" };

    private static string N(double? v, string format) => v is { } x ? x.ToString(format, s_inv) : "–";

    private static string Ratio(double? a, double? b) => a is { } x && b is > 0 ? (x / b.Value).ToString(x / b.Value >= 10 ? "F0" : "F2", s_inv) + "×" : "–";

    private static string Lat(FanoutResult? r) => r is null ? "–" : string.Create(s_inv, $"{r.LatencyP50Ms:0.##} / {r.LatencyP99Ms:0.##} / {r.LatencyMaxMs:0.#}");

    private static string Losses(FanoutResult? r) => r is null ? "–" : string.Create(s_inv, $"{r.Lost:N0} / {r.Duplicates:N0} / {r.OutOfOrder:N0}");

    private static string Bound(FanoutResult? r) => r is null ? "–" : Report.ClientBound(r) ? "yes" : "no";

    private static readonly Color s_engine = Color.FromHex("#1f77b4");
    private static readonly Color s_peer = Color.FromHex("#ff7f0e");
    private static readonly Color s_baseline = Color.FromHex("#7f7f7f");

    /// <summary>Six panels of grouped bars: engine (blue) next to the peer (orange).</summary>
    private static void Chart(string path, Side engine, Side peer, int[] clients)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(6);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 3);
        var groups = clients.Select(n => n.ToString("N0", s_inv) + " clients").ToArray();

        Grouped(multiplot.GetPlot(0), "Stream fan-out at saturation: deliveries/s", groups,
            ("engine", s_engine, clients.Select(n => Get(engine, "sse", "saturation", n)?.DeliveriesPerSecond).ToArray()),
            ("peer: Node.js SSE", s_peer, clients.Select(n => Get(peer, "sse", "saturation", n)?.DeliveriesPerSecond).ToArray()));
        Grouped(multiplot.GetPlot(1), "graphql-sse fan-out at saturation: deliveries/s", groups,
            ("engine", s_engine, clients.Select(n => Get(engine, "graphql-sse", "saturation", n)?.DeliveriesPerSecond).ToArray()),
            ("peer: GraphQL Yoga", s_peer, clients.Select(n => Get(peer, "graphql-sse", "saturation", n)?.DeliveriesPerSecond).ToArray()));
        Grouped(multiplot.GetPlot(2), "Server CPU per delivery at saturation: µs (lower is better)", groups,
            ("engine stream", s_engine, clients.Select(n => Get(engine, "sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery).ToArray()),
            ("engine graphql-sse", Color.FromHex("#aec7e8"), clients.Select(n => Get(engine, "graphql-sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery).ToArray()),
            ("peer stream", s_peer, clients.Select(n => Get(peer, "sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery).ToArray()),
            ("peer Yoga", Color.FromHex("#ffbb78"), clients.Select(n => Get(peer, "graphql-sse", "saturation", n)?.ServerCpuMicrosecondsPerDelivery).ToArray()));
        Grouped(multiplot.GetPlot(3), "One message to all clients: p99 ms (lower is better)", groups,
            ("engine stream", s_engine, clients.Select(n => Get(engine, "sse", "one at a time", n)?.LatencyP99Ms).ToArray()),
            ("engine graphql-sse", Color.FromHex("#aec7e8"), clients.Select(n => Get(engine, "graphql-sse", "one at a time", n)?.LatencyP99Ms).ToArray()),
            ("peer stream", s_peer, clients.Select(n => Get(peer, "sse", "one at a time", n)?.LatencyP99Ms).ToArray()),
            ("peer Yoga", Color.FromHex("#ffbb78"), clients.Select(n => Get(peer, "graphql-sse", "one at a time", n)?.LatencyP99Ms).ToArray()));
        Grouped(multiplot.GetPlot(4), "Requests/s", ["{ hello } (JS resolver)", "GET /hello (JS handler)"],
            ("engine", s_engine, [Number(engine.Queries, "graphql", "rps"), Number(engine.Http, "js", "rps") ?? Number(engine.Queries, "route", "rps")]),
            ("engine C# baseline", s_baseline, [null, Number(engine.Http, "cs", "rps")]),
            ("peer: Yoga / Node.js", s_peer, [Number(peer.Queries, "graphql", "rps"), Number(peer.Queries, "route", "rps")]));
        Grouped(multiplot.GetPlot(5), "Memory per idle SSE connection: KiB (lower is better)", [$"{engine.Idle?.Connected ?? peer.Idle?.Connected ?? 0:N0} idle connections"],
            ("engine", s_engine, [engine.Idle?.ServerKiBPerConnection]),
            ("peer: Node.js SSE", s_peer, [peer.Idle?.ServerKiBPerConnection]));
        multiplot.SavePng(path, 1800, 1000);
    }

    private static void Grouped(Plot plot, string title, string[] groups, params (string Label, Color Color, double?[] Values)[] series)
    {
        plot.Title(title, size: 14);
        var bars = new List<Bar>();
        var width = series.Length + 1;
        for (var g = 0; g < groups.Length; g++)
        {
            for (var s = 0; s < series.Length; s++)
            {
                if (series[s].Values.ElementAtOrDefault(g) is not { } value)
                {
                    continue;
                }

                bars.Add(new Bar
                {
                    Position = g * width + s,
                    Value = value,
                    FillColor = series[s].Color,
                    Label = value >= 100 ? value.ToString("N0", s_inv) : value.ToString("0.##", s_inv),
                });
            }
        }

        var plotted = plot.Add.Bars(bars);
        plotted.ValueLabelStyle.FontSize = 10;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, groups.Length).Select(g => g * width + (series.Length - 1) / 2.0)], groups);
        plot.Axes.Margins(bottom: 0, top: 0.35);
        plot.Legend.ManualItems.Clear();
        foreach (var (label, color, _) in series)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        }

        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.Legend.FontSize = 10;
    }
}
