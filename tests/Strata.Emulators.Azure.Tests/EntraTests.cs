using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;

namespace Strata.Emulators.Azure.Tests;

/// <summary>The Entra ID token endpoint, as Azure.Identity's confidential-client credentials call it.</summary>
public sealed class EntraTests
{
    private static JsonObject Claims(string jwt) =>
        (JsonObject)JsonNode.Parse(Convert.FromBase64String(Pad(jwt.Split('.')[1].Replace('-', '+').Replace('_', '/'))))!;

    private static string Pad(string s) => s + new string('=', (4 - s.Length % 4) % 4);

    [Fact]
    public async Task Client_secret_credential_gets_a_management_token_with_entras_claims()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var token = await stack.Credential.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), default);
        var claims = Claims(token.Token);
        Assert.Equal("https://management.azure.com", (string?)claims["aud"]);
        Assert.Equal($"https://sts.windows.net/{AzureMlStack.Tenant}/", (string?)claims["iss"]);
        Assert.Equal(AzureMlStack.Tenant, (string?)claims["tid"]);
        Assert.Equal(AzureMlStack.ClientId, (string?)claims["appid"]);
        Assert.NotNull((string?)claims["oid"]);
        Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(50));
        var storage = await stack.Credential.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]), default);
        Assert.Equal("https://storage.azure.com", (string?)Claims(storage.Token)["aud"]);
    }

    [Fact]
    public async Task A_wrong_client_secret_is_refused_with_AADSTS7000215()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var wrong = new ClientSecretCredential(AzureMlStack.Tenant, AzureMlStack.ClientId, "not-the-secret",
            new ClientSecretCredentialOptions { AuthorityHost = stack.Emulator.AuthorityHost, Transport = stack.Transport });
        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() =>
            wrong.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), default).AsTask());
        Assert.Contains("AADSTS7000215", e.ToString(), StringComparison.Ordinal);
        Assert.Contains(stack.Emulator.Requests, r => r.Api == "entra" && r.Status == 401);
        var unknown = new ClientSecretCredential(AzureMlStack.Tenant, Guid.NewGuid().ToString(), AzureMlStack.ClientSecret,
            new ClientSecretCredentialOptions { AuthorityHost = stack.Emulator.AuthorityHost, Transport = stack.Transport });
        var e2 = await Assert.ThrowsAsync<AuthenticationFailedException>(() =>
            unknown.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), default).AsTask());
        Assert.Contains("AADSTS700016", e2.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_certificate_credential_signs_in_with_a_registered_certificate_only()
    {
        using var rsa = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=strata-app", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        const string certApp = "3b7e6a1c-55a4-4f7b-8d0c-2f7d3b9a1e42";
        await using var stack = await AzureMlStack.StartAsync(o => o.Applications.Add(new EntraApplication(AzureMlStack.Tenant, certApp)
        {
            Certificate = X509CertificateLoader.LoadCertificate(certificate.RawData),
        }));
        var credential = new ClientCertificateCredential(AzureMlStack.Tenant, certApp, certificate,
            new ClientCertificateCredentialOptions { AuthorityHost = stack.Emulator.AuthorityHost, Transport = stack.Transport });
        var token = await credential.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), default);
        Assert.Equal(certApp, (string?)Claims(token.Token)["appid"]);

        using var other = RSA.Create(2048);
        using var stranger = new CertificateRequest("CN=strata-app", other, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var wrong = new ClientCertificateCredential(AzureMlStack.Tenant, certApp, stranger,
            new ClientCertificateCredentialOptions { AuthorityHost = stack.Emulator.AuthorityHost, Transport = stack.Transport });
        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() =>
            wrong.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), default).AsTask());
        Assert.Contains("AADSTS700027", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Encoding.UTF8.GetString(certificate.RawData), string.Concat(stack.Emulator.Requests.Select(r => r.Body)),
            StringComparison.Ordinal);
    }
}
