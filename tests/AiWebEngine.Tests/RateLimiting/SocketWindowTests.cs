using AiWebEngine.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.RateLimiting;

public sealed class SocketWindowTests
{
    [Fact]
    public void TryTake_RefusesPastThePermitLimit_UntilTheWindowEnds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var window = new SocketWindow(2, TimeSpan.FromSeconds(1), time);

        Assert.True(window.TryTake());
        Assert.True(window.TryTake());
        Assert.False(window.TryTake());
        time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.False(window.TryTake());
        Assert.Equal(TimeSpan.FromMilliseconds(400), window.RetryAfter);
        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.True(window.TryTake());
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void Network_CountsIPv4WholeAndIPv6ByItsSlash64(string address, string counted) =>
        Assert.Equal(counted, ClientPartition.Network(System.Net.IPAddress.Parse(address)));
}
