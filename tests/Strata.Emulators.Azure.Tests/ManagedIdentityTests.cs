using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace Strata.Emulators.Azure.Tests;

/// <summary>
/// A job's managed identity, as Azure ML compute gives it (MSI_ENDPOINT, MSI_SECRET), reaching storage: an HTTPS Azurite that takes
/// Entra tokens, trusted through the job's SSL_CERT_FILE; and the test process using the same Azurite with its own token.
/// </summary>
public sealed class ManagedIdentityTests
{
    private static string ProbeDll => Path.Combine(RepoPaths.Root, "tests", "Fixtures", "AzureJobProbe", "bin", RepoPaths.Configuration, "net10.0",
        "AzureJobProbe.dll");

    [Fact]
    public async Task DefaultAzureCredential_in_a_job_gets_a_storage_token_from_the_emulator_and_writes_a_blob_to_https_azurite()
    {
        await using var azurite = await HttpsAzurite.StartAsync();
        await using var stack = await AzureMlStack.StartAsync(o => o.TrustedCertificateFiles.Add(azurite.CertificatePath));
        var container = "c" + Guid.NewGuid().ToString("n")[..12];
        var command = $"'{RepoPaths.Dotnet()}' '{ProbeDll}' '{azurite.Endpoint}' {container} from-job.txt 'written by the job' && "
            + "echo identity=$MSI_ENDPOINT secret=${MSI_SECRET:+set}";
        var name = await stack.SubmitAsync(command);
        var status = await stack.WaitForStatusAsync(name, TimeSpan.FromSeconds(90), "Completed", "Failed");
        var log = stack.Emulator.JobLog(name);
        Assert.True(status == "Completed", log);
        Assert.Contains("token aud=https://storage.azure.com iss=https://sts.windows.net/", log, StringComparison.Ordinal);
        // MSAL.NET's Azure ML source (MSI_ENDPOINT and MSI_SECRET): api-version 2017-09-01 with the compute's default identity.
        var msi = Assert.Single(stack.Emulator.Requests, r => r.Api == "entra" && r.Path.StartsWith("/msi/token", StringComparison.Ordinal));
        Assert.Equal(200, msi.Status);
        Assert.Contains("api-version=2017-09-01", msi.Path, StringComparison.Ordinal);

        // The test process reads it back with a token of its own application, over the same trusted HTTPS.
        var options = new BlobClientOptions { Transport = new HttpClientTransport(azurite.CreateHandler()) };
        var credential = new ClientSecretCredential(AzureMlStack.Tenant, AzureMlStack.ClientId, AzureMlStack.ClientSecret,
            new ClientSecretCredentialOptions { AuthorityHost = stack.Emulator.AuthorityHost, Transport = stack.Transport });
        var blob = new BlobContainerClient(new Uri($"{azurite.Endpoint}/{container}"), credential, options).GetBlobClient("from-job.txt");
        Assert.Equal("written by the job", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task The_managed_identity_endpoint_refuses_a_wrong_secret()
    {
        await using var stack = await AzureMlStack.StartAsync();
        using var http = new HttpClient(stack.Emulator.CreateHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(stack.Emulator.Endpoint, "msi/token?api-version=2017-09-01&resource=https://storage.azure.com"));
        request.Headers.Add("secret", "guessed");
        using var response = await http.SendAsync(request);
        Assert.Equal(401, (int)response.StatusCode);
    }
}
