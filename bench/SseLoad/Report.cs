using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SseLoad;

/// <summary>Writes bench/results/streams.md from the JSON results of the runs.</summary>
internal static class Report
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The load client limited the run when the machine's CPUs were (nearly) all busy and the client
    /// had at least 40 % of the time the server and it used, or when the bytes the server had already
    /// sent waited in the clients' sockets, unread, for at least half the median latency.
    /// </summary>
    public static bool ClientBound(FanoutResult r)
    {
        var total = r.ServerCores + r.ClientCores;
        return (r.MachineBusyCores >= 0.9 * r.Processors && r.ClientCores >= 0.4 * total)
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

        var md = new StringBuilder();
        md.AppendLine("# Streams benchmark: SSE fan-out on one stream")
            .AppendLine()
            .AppendLine(s_inv, $"- date: {o.String("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", s_inv))}")
            .AppendLine(s_inv, $"- machine: {o.String("machine", "?")}")
            .AppendLine(s_inv, $"- .NET: {o.String("dotnet", "?")}")
            .AppendLine(s_inv, $"- commit: {o.String("commit", "?")}")
            .AppendLine(s_inv, $"- server: `{o.String("server", "?")}`")
            .AppendLine("- command: `bash bench/streams.sh` (load client: `bench/SseLoad`, raw sockets, in the same machine; script: `bench/streams/scripts/feed.js`)")
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
                $"**Memory, {idle.Connected:N0} idle connections** (of {idle.Clients:N0} opened; `/health` said {idle.HealthConnectionsSettled:N0}): server RSS {idle.ServerRssKiBBefore / 1024.0:F1} MiB → {idle.ServerRssKiBAfter / 1024.0:F1} MiB after a {idle.SettleSeconds} s settle = **{idle.ServerKiBPerConnection:F1} KiB per idle connection**; "
                + $"{idle.ServerKiBPerConnectionAfterMessages:F1} KiB per connection once each has been sent {idle.Messages} messages; {idle.ServerRssKiBAfterClose / 1024.0:F1} MiB {idle.SettleSeconds} s after they all closed. "
                + $"(Load client: {idle.ClientKiBPerConnection:F1} KiB per connection.) "
                + $"One message to all {idle.Connected:N0}: p50 {Ms(idle.OneMessageLatencyP50Ms)} ms, p99 {Ms(idle.OneMessageLatencyP99Ms)} ms, max {Ms(idle.OneMessageLatencyMaxMs)} ms; {idle.Lost} lost, {idle.Disconnects} disconnects.");
            md.AppendLine();
        }

        md.AppendLine("How to read it:")
            .AppendLine()
            .AppendLine("- One server process, one stream (`/feed`), N clients. A message is `{\"run\":R,\"seq\":S,\"t\":T}`, POSTed to `/publish` (the script calls `sendStreamMessage(req.body)`) on one pipelined HTTP/1.1 connection, so the server numbers messages in send order. `T` is the publisher's monotonic clock just before the request is written; the latency of a delivery is the client's receive time minus `T` (same process, same clock): HTTP request + script + queueing + SSE write + client read.")
            .AppendLine("- **fixed**: messages at a fixed rate. **open (saturation)**: as fast as the server answers `/publish` (open loop, up to 32 requests in flight), whether or not the clients keep up: a client more than QueueCapacity (1024) + ReplayDepth (256) frames behind is disconnected by the server, reconnects after `retry:` (3 s) with `Last-Event-ID` like `EventSource`, and gets what the 256-message replay ring still holds. **closed (saturation)**: as fast as the slowest client receives (at most 64 messages published and not yet received by every client): the highest delivery rate without overflow.")
            .AppendLine("- deliveries/s = messages received by all clients together / (first publish → last delivery). lost = messages a client never received (of those published while it was connected; all are connected before the first); dup = received twice; out-of-order = a seq lower than one already received; disconnects = streams that ended or broke before the end (each is followed by a reconnect).")
            .AppendLine("- server CPU µs/delivery = the server's utime+stime (/proc) over the run and drain / deliveries. server cores, client cores = CPU time / wall time; the load client runs on the same CPUs, so the server never has the whole machine. other processes cores = the machine's busy time (/proc/stat) minus both: anything else running at the same time (it is not a dedicated machine; before each scenario the script waits, up to 20 s, for it to be idle). client-bound = the CPUs were ≥ 90 % busy and the client used ≥ 40 % of what the server and it used, or data the server had already sent waited unread in the clients' sockets for ≥ half the median latency (client backlog: unread bytes sampled from /proc/net/tcp every 250 ms ÷ bytes received per second).")
            .AppendLine("- Each scenario is a separate load-client process against the same server; before measuring, each connects all N clients, checks `/health` and publishes 100 warm-up messages. Latencies are recorded in a log-linear histogram (≤ 0.8 % error). Raw JSON per scenario: `bench/results/raw/streams-*.json`.")
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
