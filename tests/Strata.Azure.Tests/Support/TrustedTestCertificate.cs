using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Strata.Emulators.Jobs;

namespace Strata.Tests.Support;

/// <summary>
/// One TLS certificate for the test servers of this test process (emulators, an HTTPS Azurite), for 127.0.0.1 and localhost,
/// trusted by .NET as a user trusts a private CA: put in the user's Root store, which .NET on Linux trusts besides the
/// system's. .NET reads that store once per process, so the certificate is made and trusted once, before any server uses it,
/// and taken out when the process exits; one a killed test process left behind is taken out by the next.
/// </summary>
public static class TrustedTestCertificate
{
    private const string SubjectPrefix = "CN=Strata test servers of process ";

    private static readonly Lazy<(X509Certificate2 Certificate, string PemPath)> Shared = new(Create);

    /// <summary>The certificate, with its private key, for servers to serve.</summary>
    public static X509Certificate2 Certificate => Shared.Value.Certificate;

    /// <summary>The certificate as PEM, for processes that trust what <c>SSL_CERT_FILE</c> names (another home's .NET, Python).</summary>
    public static string PemPath => Shared.Value.PemPath;

    private static (X509Certificate2, string) Create()
    {
        var certificate = SelfSignedCertificate.Create($"{SubjectPrefix}{Environment.ProcessId}", TimeSpan.FromDays(7));
        var pem = Path.Combine(Path.GetTempPath(), $"strata-test-servers-{Environment.ProcessId}.pem");
        File.WriteAllText(pem, certificate.ExportCertificatePem() + "\n");
        var trusted = X509CertificateLoader.LoadCertificate(certificate.RawData);
        using (var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser))
        {
            store.Open(OpenFlags.ReadWrite);
            foreach (var left in store.Certificates.Where(c => c.Subject.StartsWith(SubjectPrefix, StringComparison.Ordinal)
                && !Alive(c.Subject[SubjectPrefix.Length..])).ToArray())
                store.Remove(left);
            store.Add(trusted);
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
            store.Open(OpenFlags.ReadWrite);
            store.Remove(trusted);
            File.Delete(pem);
        };
        return (certificate, pem);
    }

    private static bool Alive(string pid)
    {
        if (!int.TryParse(pid, out var id)) return true;
        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
