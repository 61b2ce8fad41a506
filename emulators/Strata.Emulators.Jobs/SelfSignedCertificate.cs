using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Strata.Emulators.Jobs;

/// <summary>TLS certificates for servers on this machine (emulators, test servers) that clients are told to trust.</summary>
public static class SelfSignedCertificate
{
    /// <summary>
    /// A self-signed certificate for 127.0.0.1 and localhost with an exportable RSA key. It is its own CA (basic constraints,
    /// key usage with certificate signing, a subject key identifier): OpenSSL, behind .NET's and Python's <c>SSL_CERT_FILE</c>
    /// trust, takes a self-signed root only with those. Give each server of a process its own <paramref name="subject"/>:
    /// OpenSSL finds a trusted root by subject name.
    /// </summary>
    public static X509Certificate2 Create(string subject, TimeSpan validFor)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
            | X509KeyUsageFlags.KeyCertSign, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.Add(validFor));
        // Re-imported from PKCS#12: Kestrel on Linux needs a certificate whose key is exportable this way.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
