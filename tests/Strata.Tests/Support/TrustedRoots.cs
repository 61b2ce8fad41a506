using System.Security.Cryptography.X509Certificates;

namespace Strata.Tests.Support;

/// <summary>
/// Test servers' self-signed certificates trusted by .NET for as long as this lives: added to the user's Root store, which
/// .NET on Linux trusts besides the system's, in this process and in every .NET process it starts (the <c>strata</c> command,
/// step jobs), as a user trusts a private CA. Removed on dispose.
/// </summary>
public sealed class TrustedRoots : IDisposable
{
    private readonly X509Certificate2Collection _added = [];

    public TrustedRoots(params string[] pemFiles)
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        foreach (var file in pemFiles)
        {
            var certificate = X509CertificateLoader.LoadCertificate(X509Certificate2.CreateFromPemFile(file).RawData);
            store.Add(certificate);
            _added.Add(certificate);
        }
    }

    public void Dispose()
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        foreach (var certificate in _added) store.Remove(certificate);
    }
}
