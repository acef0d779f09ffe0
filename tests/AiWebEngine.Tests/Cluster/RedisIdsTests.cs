using AiWebEngine.Streaming.Redis;

namespace AiWebEngine.Tests.Cluster;

/// <summary>Redis stream entry ids as the bus's integer ids.</summary>
public sealed class RedisIdsTests
{
    [Theory]
    [InlineData("0-1", 1L)]
    [InlineData("1764000000123-0", 1_764_000_000_123_000_000L)]
    [InlineData("1764000000123-999999", 1_764_000_000_123_999_999L)]
    public void EntryIds_RoundTripThroughIntegers(string entryId, long id)
    {
        Assert.True(RedisIds.TryParse(entryId, out var parsed));
        Assert.Equal(id, parsed);
        Assert.Equal(entryId, RedisIds.Format(id));
    }

    [Fact]
    public void Ids_IncreaseWithTheEntryIds()
    {
        Assert.True(RedisIds.TryParse("1764000000123-5", out var a));
        Assert.True(RedisIds.TryParse("1764000000124-0", out var b));
        Assert.True(a < b);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("-1")]
    [InlineData("1-")]
    [InlineData("1-1000000")]
    [InlineData("99999999999999999-0")]
    [InlineData("a-b")]
    public void UnrepresentableEntryIds_AreRefused(string? entryId) => Assert.False(RedisIds.TryParse(entryId, out _));
}
