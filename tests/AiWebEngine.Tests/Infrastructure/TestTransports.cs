using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>How a test client reaches a Kestrel host.</summary>
public enum TestTransport
{
    /// <summary>Plain HTTP/1.1 (the default endpoint).</summary>
    Http11,

    /// <summary>HTTP/1.1 over TLS.</summary>
    Http11Tls,

    /// <summary>HTTP/2 over TLS (ALPN h2).</summary>
    Http2Tls,

    /// <summary>HTTP/2 without TLS, prior knowledge (h2c).</summary>
    H2c,
}

/// <summary>Kestrel endpoints and matching clients for each <see cref="TestTransport"/>, with a self-signed certificate made here.</summary>
public static class TestTransports
{
    private static readonly Lazy<X509Certificate2> SelfSigned = new(CreateCertificate);

    /// <summary>A certificate for <c>127.0.0.1</c> and <c>localhost</c>, valid for a day, made once per test run.</summary>
    public static X509Certificate2 Certificate => SelfSigned.Value;

    public static bool IsTls(TestTransport transport) => transport is TestTransport.Http11Tls or TestTransport.Http2Tls;

    public static bool IsHttp2(TestTransport transport) => transport is TestTransport.Http2Tls or TestTransport.H2c;

    /// <summary>One loopback endpoint speaking <paramref name="transport"/> (and nothing else).</summary>
    public static void Listen(KestrelServerOptions options, TestTransport transport, int port = 0) =>
        options.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = IsHttp2(transport) ? HttpProtocols.Http2 : HttpProtocols.Http1;
            if (IsTls(transport))
            {
                listen.UseHttps(Certificate);
            }
        });

    /// <summary>A client that speaks exactly <paramref name="transport"/> and trusts the test certificate.</summary>
    public static HttpClient Client(Uri baseAddress, TestTransport transport, Action<SocketsHttpHandler>? configure = null)
    {
        var handler = new SocketsHttpHandler
        {
            // No draining of an abandoned response body: closing an endless event stream returns at once.
            MaxResponseDrainSize = 0,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => IsTestCertificate(certificate),
            },
        };
        configure?.Invoke(handler);
        return new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            DefaultRequestVersion = IsHttp2(transport) ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromMinutes(2),
        };
    }

    /// <summary>Trusts exactly the test certificate (by its hash).</summary>
    public static bool IsTestCertificate(X509Certificate? certificate) =>
        certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString();

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12, so the private key is one SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }
}
