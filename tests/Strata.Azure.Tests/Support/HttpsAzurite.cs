using System.Security.Cryptography.X509Certificates;
using Strata.Emulators.Jobs;

namespace Strata.Tests.Support;

/// <summary>
/// Azurite (eng/azure/setup.sh installs it) over HTTPS with Entra ID tokens: <c>--oauth basic --cert --key</c>, a self-signed
/// certificate for 127.0.0.1 and localhost (subject alternative names) made at start (<see cref="CertificatePath"/>, PEM, for clients to trust). Azurite then
/// takes bearer tokens whose issuer is Entra's (<c>https://sts.windows.net/{tenant}/</c>), audience storage
/// (<c>https://storage.azure.com</c>) and which have not expired; it does not check their signature. The account key works too.
/// In memory, on a free loopback port, stopped by its process id on dispose.
/// </summary>
public sealed class HttpsAzurite : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account and key (the same in every Azurite; not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly NodeServer _server;
    private readonly TempDirectory _dir;

    private HttpsAzurite(NodeServer server, TempDirectory dir, string certificatePath)
    {
        _server = server;
        _dir = dir;
        CertificatePath = certificatePath;
        Endpoint = $"https://127.0.0.1:{server.Port}/{AccountName}";
    }

    /// <summary>The blob service endpoint, path-style: <c>https://127.0.0.1:PORT/devstoreaccount1</c>.</summary>
    public string Endpoint { get; }

    /// <summary>Azurite's certificate (PEM): add it to the clients' trust (e.g. an emulator's trusted certificate files).</summary>
    public string CertificatePath { get; }

    /// <summary>Starts Azurite with <paramref name="certificate"/> (with its private key), or a self-signed certificate made for it.</summary>
    public static async Task<HttpsAzurite> StartAsync(X509Certificate2? certificate = null)
    {
        var dir = new TempDirectory("strata-azurite-https");
        try
        {
            var (cert, key) = (dir.Combine("azurite-cert.pem"), dir.Combine("azurite-key.pem"));
            if (certificate is null) WriteCertificate(cert, key);
            else
            {
                File.WriteAllText(cert, certificate.ExportCertificatePem() + "\n");
                File.WriteAllText(key, (certificate.GetRSAPrivateKey() ?? throw new ArgumentException("The certificate has no RSA private key.",
                    nameof(certificate))).ExportPkcs8PrivateKeyPem() + "\n");
            }
            // --skipApiVersionCheck: Azure.Storage.Blobs 12.30 sends a newer API version than Azurite 3.35 knows.
            var server = await NodeServer.StartAsync("azurite", Path.Combine("dist", "src", "blob", "main.js"), "eng/azure/setup.sh",
                port => ["--blobHost", "127.0.0.1", "--blobPort", port, "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
                    "--silent", "--oauth", "basic", "--cert", cert, "--key", key], dir.Path);
            return new HttpsAzurite(server, dir, cert);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>An HTTP handler that trusts Azurite's certificate.</summary>
    public HttpClientHandler CreateHandler()
    {
        var trusted = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);
        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || cert is not null && cert.RawData.AsSpan().SequenceEqual(trusted.RawData),
        };
    }

    private static void WriteCertificate(string certPath, string keyPath)
    {
        // A subject of its own: OpenSSL finds a trusted root by subject name, and the Azure ML emulator's is CN=127.0.0.1.
        using var certificate = SelfSignedCertificate.Create("CN=localhost, O=Strata test Azurite", TimeSpan.FromDays(365));
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }
}
