using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>
/// The samples that say they are examples of the Real-Time Streaming Guide (<c>samples/README.md</c>:
/// every file under <c>samples/streams/</c>, "with the guide's code kept as written"; and
/// <c>graphql/live-events.js</c>) still hold the guide's code word for word: each code block of the
/// guide a sample names appears in it, line by line (indentation aside), in order. The guide is
/// read from the copy next to this file, which must equal <c>shared/seed/streaming-guide.md</c> where
/// that is at hand.
/// </summary>
public sealed class GuideExampleTests
{
    // The guide as the samples were written against: a copy in the repository (the user's guide lives
    // outside it, in shared/seed/), so that a fresh clone checks the samples too.
    private static readonly string GuidePath = Path.Combine(EngineHost.RepositoryRoot, "tests", "AiWebEngine.Tests", "Samples", "streaming-guide.md");

    private static readonly string[] MultiPaths = ["/notifications", "/system-status", "/chat"];

    /// <summary>
    /// Sample, the guide's heading (a <c>#</c> heading or a numbered <c>**item**</c>), which code block
    /// after it, and where the sample says it departs from the guide: lines where the block is split
    /// because the sample puts something between its parts (that line itself is the sample's own, for
    /// a comment it rewords), and stream paths the sample moves under a prefix.
    /// </summary>
    public static TheoryData<string, string, int, string?, string?> Examples => new()
    {
        { "streams/basic.js", "### 1. Basic Stream Setup", 0, null, null },
        { "streams/basic.js", "### 2. Client-Side Connection", 0, null, null },
        { "streams/notifications.js", "### 1. Live Notifications", 0, null, null },
        // "// Usage" becomes "// Usage (the guide's code, as written)" inside the page's function.
        { "streams/notifications.js", "### Advanced Client Handling", 0, "// Usage", null },
        { "streams/dashboard.js", "### 2. Real-Time Dashboard", 0, null, null },
        { "streams/dashboard.js", "3. **Clean Up Connections**", 0, null, null },
        { "streams/chat.js", "### 3. Chat System", 0, null, null },
        { "streams/data-feed.js", "### 4. Live Data Feed", 0, null, null },
        { "streams/data-feed.js", "### Performance Monitoring", 0, null, null },
        // The guide's /notifications and /chat belong to other samples: these streams live under /multi/.
        { "streams/multi.js", "### Multiple Stream Coordination", 0, null, "/multi" },
        { "streams/webhook.js", "### Integration with External Systems", 0, null, null },
        { "streams/webhook.js", "2. **Client-Side**", 0, null, null },
        { "graphql/live-events.js", "### Quick Example", 0, null, null },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Sample_HoldsTheGuidesCode_WordForWord(string sample, string heading, int block, string? splitAt, string? pathPrefix)
    {
        var code = CodeBlock(File.ReadAllLines(GuidePath), heading, block);
        if (pathPrefix is not null)
        {
            code = [.. code.Select(line => MultiPaths.Aggregate(line, (l, path) => l.Replace($"\"{path}\"", $"\"{pathPrefix}{path}\"", StringComparison.Ordinal)))];
        }

        var parts = splitAt is null
            ? [code]
            : new[] { code.TakeWhile(l => l != splitAt).ToList(), code.SkipWhile(l => l != splitAt).Skip(1).ToList() };
        var lines = Significant(File.ReadAllLines(Path.Combine(EngineHost.RepositoryRoot, "samples", sample)));

        var from = 0;
        foreach (var part in parts)
        {
            Assert.NotEmpty(part);
            var at = IndexOf(lines, part, from);
            if (at < 0)
            {
                Assert.Fail($"{sample} no longer holds the guide's \"{heading}\" code as written (from: {part[0]}). Where its closest match departs: {FirstDifference(lines, part)}");
            }

            from = at + part.Count;
        }
    }

    [Fact]
    public void EveryStreamsSample_IsCheckedAgainstTheGuide()
    {
        var checkedSamples = Examples.Select(row => (string)row[0]).ToHashSet();
        var streams = Directory.EnumerateFiles(Path.Combine(EngineHost.RepositoryRoot, "samples", "streams"), "*.js")
            .Select(f => "streams/" + Path.GetFileName(f));

        Assert.DoesNotContain(streams, s => !checkedSamples.Contains(s));
    }

    [Fact]
    public void TheCopyOfTheGuide_IsTheGuide_WhereTheGuideIsAtHand()
    {
        // shared/seed/ next to the repository or to one of its parent directories (a fresh clone has none).
        var original = Ancestors(EngineHost.RepositoryRoot)
            .Select(d => Path.Combine(d, "shared", "seed", "streaming-guide.md"))
            .FirstOrDefault(File.Exists);

        if (original is not null)
        {
            Assert.True(File.ReadAllText(original) == File.ReadAllText(GuidePath), $"{GuidePath} differs from {original}: copy the guide again and check the samples against it");
        }
    }

    private static IEnumerable<string> Ancestors(string directory)
    {
        for (var d = Path.GetDirectoryName(Path.GetFullPath(directory)); d is not null; d = Path.GetDirectoryName(d))
        {
            yield return d;
        }
    }

    [Fact]
    public async Task TheGuidesPage_IsServedExactlyAsWritten()
    {
        var page = string.Join('\n', RawCodeBlock(File.ReadAllLines(GuidePath), "### 2. Client-Side Connection", 0)) + "\n";
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["basic.js"] = File.ReadAllText(Path.Combine(EngineHost.RepositoryRoot, "samples", "streams", "basic.js")) });

        Assert.Equal(page, await HttpAssert.TextAsync(await host.Client.GetAsync("/examples/basic/guide")));
    }

    // The block's lines, trimmed, blank ones left out.
    private static List<string> CodeBlock(string[] guide, string heading, int index) => Significant(RawCodeBlock(guide, heading, index));

    // The lines of the index-th fenced block after the heading, without the indentation of its fence.
    private static List<string> RawCodeBlock(string[] guide, string heading, int index)
    {
        var start = Array.FindIndex(guide, l => l.Trim() == heading);
        Assert.True(start >= 0, $"the guide has no heading \"{heading}\"");
        var seen = -1;
        for (var i = start + 1; i < guide.Length; i++)
        {
            if (!guide[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = guide[i].Length - guide[i].TrimStart().Length;
            var end = Array.FindIndex(guide, i + 1, l => l.Trim() == "```");
            if (++seen == index)
            {
                return [.. guide[(i + 1)..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())];
            }

            i = end;
        }

        throw new InvalidOperationException($"the guide has no code block {index} after \"{heading}\"");
    }

    private static List<string> Significant(IEnumerable<string> lines) => [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0)];

    // Where the part starts in the sample's lines, or -1. A block the sample embeds as text (a page in a
    // template literal) shares its first line with what opens the literal and its last with what closes it.
    private static int IndexOf(List<string> lines, List<string> part, int from)
    {
        for (var i = from; i + part.Count <= lines.Count; i++)
        {
            if (Matches(lines, i, part, part.Count))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Matches(List<string> lines, int start, List<string> part, int count)
    {
        for (var n = 0; n < count; n++)
        {
            var line = lines[start + n];
            var ok = line == part[n]
                || (n == 0 && line.EndsWith("`" + part[n], StringComparison.Ordinal))
                || (n == part.Count - 1 && line.StartsWith(part[n] + "`", StringComparison.Ordinal));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    // Where the sample's closest match to the part departs from it, for the failure message.
    private static string FirstDifference(List<string> lines, List<string> part)
    {
        var best = (Start: -1, Length: 0);
        for (var i = 0; i < lines.Count; i++)
        {
            var n = 0;
            while (n < part.Count && i + n < lines.Count && Matches(lines, i, part, n + 1))
            {
                n++;
            }

            if (n > best.Length)
            {
                best = (i, n);
            }
        }

        return best.Start < 0 ? "none of its lines" : $"guide \"{part[best.Length]}\", sample \"{(best.Start + best.Length < lines.Count ? lines[best.Start + best.Length] : "(end)")}\"";
    }
}
