using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SseLoad;

/// <summary>Writes bench/results/streams.md from the JSON results of the runs.</summary>
internal static class Report
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The load client limited the run when, at saturation, the machine's CPUs were (nearly) all busy
    /// and the client had at least 40 % of the time the server and it used, or when the bytes the
    /// server had already sent waited in the clients' sockets, unread, for at least half the median
    /// latency. (At a fixed rate the CPU share says nothing about a limit: only the backlog counts.)
    /// </summary>
    public static bool ClientBound(FanoutResult r)
    {
        var total = r.ServerCores + r.ClientCores;
        return (r.Mode != "fixed" && r.MachineBusyCores >= 0.9 * r.Processors && r.ClientCores >= 0.4 * total)
            || (r.LatencyP50Ms > 0 && r.ClientBacklogMs >= 0.5 * r.LatencyP50Ms);
    }

    public static int Write(Options o)
    {
        var fanouts = new List<FanoutResult>();
        IdleResult? idle = null;
        foreach (var file in o.Positional)
        {
            var text = File.ReadAllText(file);
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("Mode", out _))
            {
                fanouts.Add(JsonSerializer.Deserialize<FanoutResult>(text, Json.Options)!);
            }
            else
            {
                idle = JsonSerializer.Deserialize<IdleResult>(text, Json.Options);
            }
        }

        var graphql = fanouts.Any(r => r.Protocol == "graphql-sse");
        var md = new StringBuilder();
        md.AppendLine(s_inv, $"# {o.String("title", "Streams benchmark: SSE fan-out on one stream")}")
            .AppendLine()
            .AppendLine(s_inv, $"- date: {o.String("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", s_inv))}")
            .AppendLine(s_inv, $"- machine: {o.String("machine", "?")}")
            .AppendLine(s_inv, $"- .NET: {o.String("dotnet", "?")}")
            .AppendLine(s_inv, $"- commit: {o.String("commit", "?")}")
            .AppendLine(s_inv, $"- server: `{o.String("server", "?")}`")
            .AppendLine(s_inv, $"- command: `{o.String("command", "bash bench/streams.sh")}`")
            .AppendLine(s_inv, $"- load client: `bench/SseLoad` (raw sockets, one process) **on the same machine as the server**: with {Environment.ProcessorCount} CPUs, the clients, the publisher and the server share the cores, so these numbers are a lower bound for a server with the machine to itself (the client-bound column says when the client was the limit).")
            .AppendLine();

        var intro = o.String("intro", "");
        if (intro.Length > 0 && File.Exists(intro))
        {
            md.Append(File.ReadAllText(intro)).AppendLine();
        }

        // The compact table (the one for the README).
        md.AppendLine(graphql ? "## Subscription fan-out (graphql-sse, distinct connections mode)" : "## Fan-out and memory")
            .AppendLine()
            .AppendLine("| scenario | clients | publish rate msg/s | deliveries/s | p50 ms | p99 ms | losses | server memory |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in fanouts)
        {
            var losses = r.Lost == 0 && r.Disconnects == 0 ? "0"
                : string.Create(s_inv, $"{r.Lost:N0} lost ({r.Lost * 100.0 / Math.Max(1, r.ExpectedDeliveries):F2} %), {r.Disconnects:N0} disconnects");
            md.AppendLine(s_inv,
                $"| {r.Name} | {r.Clients:N0} | {r.PublishRate:N0} | {r.DeliveriesPerSecond:N0} | {Ms(r.LatencyP50Ms)} | {Ms(r.LatencyP99Ms)} | {losses} | RSS peak {r.ServerRssKiBPeak / 1024.0:F0} MiB |");
        }

        if (idle is not null)
        {
            md.AppendLine(s_inv,
                $"| idle connections | {idle.Connected:N0} | – | – | – | – | – | **{idle.ServerKiBPerConnection:F1} KiB per connection** (RSS {idle.ServerRssKiBBefore / 1024.0:F0} → {idle.ServerRssKiBAfter / 1024.0:F0} MiB) |");
        }

        md.AppendLine()
            .AppendLine("Everything per scenario:")
            .AppendLine()
            .AppendLine("| scenario | clients | msgs published | publish rate msg/s | deliveries/s | p50 ms | p99 ms | max ms | lost | dup | out-of-order | disconnects | server CPU µs/delivery | server cores | client cores | other processes cores | client-bound |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in fanouts)
        {
            md.AppendLine(s_inv,
                $"| {r.Name} | {r.Clients:N0} | {r.Published:N0} | {r.PublishRate:N0} | {r.DeliveriesPerSecond:N0} | {Ms(r.LatencyP50Ms)} | {Ms(r.LatencyP99Ms)} | {Ms(r.LatencyMaxMs)} | {r.Lost:N0} | {r.Duplicates:N0} | {r.OutOfOrder:N0} | {r.Disconnects:N0} | {r.ServerCpuMicrosecondsPerDelivery:F2} | {r.ServerCores:F2} | {r.ClientCores:F2} | {r.OtherCores:F2} | {(ClientBound(r) ? "yes" : "no")} |");
        }

        md.AppendLine();
        if (idle is not null)
        {
            md.AppendLine(s_inv,
                $"**Memory, {idle.Connected:N0} idle connections** (of {idle.Clients:N0} opened; `/health` said {idle.HealthConnectionsSettled:N0}): server RSS {idle.ServerRssKiBBefore / 1024.0:F1} MiB → {idle.ServerRssKiBAfter / 1024.0:F1} MiB after a {idle.SettleSeconds} s settle = **{idle.ServerKiBPerConnection:F1} KiB per idle connection** (RSS delta / N); "
                + $"{idle.ServerKiBPerConnectionAfterMessages:F1} KiB per connection once each has been sent {idle.Messages} messages; {idle.ServerRssKiBAfterClose / 1024.0:F1} MiB {idle.SettleSeconds} s after they all closed. "
                + $"(Load client: {idle.ClientKiBPerConnection:F1} KiB per connection.) "
                + $"One message to all {idle.Connected:N0}: p50 {Ms(idle.OneMessageLatencyP50Ms)} ms, p99 {Ms(idle.OneMessageLatencyP99Ms)} ms, max {Ms(idle.OneMessageLatencyMaxMs)} ms; {idle.Lost} lost, {idle.Disconnects} disconnects.");
            md.AppendLine();
        }

        var publish = graphql
            ? "- One server process, one GraphQL subscription field (`liveEvents: String`), N graphql-sse clients, each its own connection (`POST /graphql/sse` with `subscription { liveEvents }`, distinct connections mode). A message is `{\"run\":R,\"seq\":S,\"t\":T}`, POSTed to `/publish` (the script calls `sendSubscriptionMessage(\"liveEvents\", req.body)`; each client receives `event: next` with `{\"data\":{\"liveEvents\":\"<the message as a JSON string>\"}}`) on one pipelined HTTP/1.1 connection, so the server handles them in send order."
            : "- One server process, one stream (`/feed`), N clients. A message is `{\"run\":R,\"seq\":S,\"t\":T}`, POSTed to `/publish` (the script calls `sendStreamMessage(req.body)`) on one pipelined HTTP/1.1 connection, so the server numbers messages in send order.";
        var overflow = graphql
            ? "a client more than `AiWebEngine:GraphQL:QueueCapacity` (1024) events behind is disconnected by the server and subscribes again after 3 s (graphql-sse has no replay: what it missed is lost)"
            : "a client more than QueueCapacity (1024) + ReplayDepth (256) frames behind is disconnected by the server, reconnects after `retry:` (3 s) with `Last-Event-ID` like `EventSource`, and gets what the 256-message replay ring still holds";
        md.AppendLine("How to read it:")
            .AppendLine()
            .AppendLine(publish + " `T` is the publisher's monotonic clock just before the request is written; the latency of a delivery is the client's receive time minus `T` (same process, same clock): HTTP request + script + queueing + SSE write + client read.")
            .AppendLine(s_inv, $"- **N msg/s**: messages at that fixed rate. **saturation**: as fast as the server answers `/publish` (open loop, up to 32 requests in flight), whether or not the clients keep up: {overflow}. **closed (saturation)**: as fast as the slowest client receives (at most 64 messages published and not yet received by every client): the highest delivery rate without overflow.")
            .AppendLine("- deliveries/s = messages received by all clients together / (first publish → last delivery). lost = messages a client never received (of those published while it was connected; all are connected before the first; losses are counted from the sequence numbers); dup = received twice; out-of-order = a seq lower than one already received; disconnects = streams that ended or broke before the end (each is followed by a reconnect).")
            .AppendLine("- server CPU µs/delivery = the server's utime+stime (/proc) over the run and drain / deliveries. server cores, client cores = CPU time / wall time; the load client runs on the same CPUs, so the server never has the whole machine. other processes cores = the machine's busy time (/proc/stat) minus both: anything else running at the same time (before each scenario the script waits, up to a limit, for it to be idle). client-bound = at saturation, the CPUs were ≥ 90 % busy and the client used ≥ 40 % of what the server and it used, or data the server had already sent waited unread in the clients' sockets for ≥ half the median latency (client backlog: unread bytes sampled from /proc/net/tcp every 250 ms ÷ bytes received per second).")
            .AppendLine("- Each scenario is a separate load-client process against the same server, after an unrecorded warm-up round; before measuring, each connects all N clients and publishes 100 warm-up messages. Latencies are recorded in a log-linear histogram (≤ 0.8 % error). Raw JSON per scenario: `bench/results/raw/`.")
            .AppendLine();

        md.AppendLine("Details per scenario:")
            .AppendLine()
            .AppendLine("| scenario | publish ack p50 / p99 ms | p90 / p99.9 ms | expected deliveries | clients with losses | SSE id gaps | clients missing the last msg | drain s | client backlog ms (unread bytes mean / max) | machine busy cores | server RSS MiB before / peak / after | server threads max | client CPU µs/delivery |")
            .AppendLine("|---|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|---:|");
        foreach (var r in fanouts)
        {
            md.AppendLine(s_inv,
                $"| {r.Name} | {Ms(r.PublishAckP50Ms)} / {Ms(r.PublishAckP99Ms)} | {Ms(r.LatencyP90Ms)} / {Ms(r.LatencyP999Ms)} | {r.ExpectedDeliveries:N0} | {r.ClientsWithLosses:N0} | {r.IdGaps:N0} | {r.ClientsMissingLast:N0} | {r.DrainSeconds:F2} | {r.ClientBacklogMs:F1} ({r.ClientUnreadBytesMean:N0} / {r.ClientUnreadBytesMax:N0}) | {r.MachineBusyCores:F2} | {r.ServerRssKiBBefore / 1024.0:F0} / {r.ServerRssKiBPeak / 1024.0:F0} / {r.ServerRssKiBAfter / 1024.0:F0} | {r.ServerThreadsMax} | {r.ClientCpuMicrosecondsPerDelivery:F2} |");
        }

        var notes = o.String("notes", "");
        if (notes.Length > 0 && File.Exists(notes))
        {
            md.AppendLine().Append(File.ReadAllText(notes));
        }

        var outPath = Path.GetFullPath(o.String("out"));
        Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
        File.WriteAllText(outPath, md.ToString());
        return 0;
    }

    private static string Ms(double ms) => ms switch
    {
        < 10 => ms.ToString("F2", s_inv),
        < 100 => ms.ToString("F1", s_inv),
        _ => ms.ToString("N0", s_inv),
    };
}
