using System.Diagnostics;
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
    public async Task A_process_with_the_client_environment_signs_in_through_EnvironmentCredential_and_trusts_both_certificates()
    {
        await using var azurite = await HttpsAzurite.StartAsync();
        await using var stack = await AzureMlStack.StartAsync(o => o.TrustedCertificateFiles.Add(azurite.CertificatePath));
        var start = new ProcessStartInfo(RepoPaths.Dotnet(), [ProbeDll, azurite.Endpoint, "fromclient", "env.txt", "by EnvironmentCredential"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("AZURE", StringComparison.Ordinal)).ToArray()) start.Environment.Remove(name);
        foreach (var (k, v) in stack.Emulator.ClientEnvironment()) start.Environment[k] = v;
        start.Environment["AZURE_TENANT_ID"] = AzureMlStack.Tenant;
        start.Environment["AZURE_CLIENT_ID"] = AzureMlStack.ClientId;
        start.Environment["AZURE_CLIENT_SECRET"] = AzureMlStack.ClientSecret;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("oid=", output, StringComparison.Ordinal);
        Assert.Contains(stack.Emulator.Requests, r => r.Api == "entra" && r.Path == $"/{AzureMlStack.Tenant}/oauth2/v2.0/token" && r.Status == 200);
    }

    [Fact]
    public async Task Pythons_DefaultAzureCredential_in_a_job_finds_the_azure_ml_managed_identity_too()
    {
        await using var stack = await AzureMlStack.StartAsync();
        const string script = "from azure.identity import DefaultAzureCredential; "
            + "t = DefaultAzureCredential().get_token('https://storage.azure.com/.default'); print('python token', len(t.token) > 100)";
        var name = await stack.SubmitAsync($"/usr/bin/python3 -c \"{script}\"");
        var status = await stack.WaitForStatusAsync(name, TimeSpan.FromSeconds(90), "Completed", "Failed");
        Assert.True(status == "Completed", stack.Emulator.JobLog(name));
        Assert.Contains("python token True", stack.Emulator.JobLog(name), StringComparison.Ordinal);
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
