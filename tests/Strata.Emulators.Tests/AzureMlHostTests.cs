using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Strata.Emulators.Tests.Support;

namespace Strata.Emulators.Tests;

/// <summary><c>strata-emulators azureml</c> as a user runs it: HTTPS with a certificate to trust, the client settings, tokens and ARM.</summary>
public sealed class AzureMlHostTests
{
    [Fact]
    public async Task The_host_prints_the_client_settings_serves_https_with_its_certificate_and_takes_only_its_own_tokens_on_arm()
    {
        using var temp = new TempDirectory("strata-azureml-host");
        using var host = await EmulatorHostProcess.StartAsync("azureml", "--port", "0", "--work-dir", temp.Path, "--tenant", "t1", "--client-id", "app1",
            "--client-secret", "s3cret", "--workspace", "ws1", "--compute", "gpu=2", "--image", "app:1");

        var endpoint = host.After("Azure ML emulator listening on ").Split(' ')[0];
        Assert.Matches(@"^https://127\.0\.0\.1:\d+/$", endpoint);
        var certificate = temp.Combine("emulator-cert.pem");
        Assert.Contains(host.Lines, l => l == $"export AZURE_AUTHORITY_HOST={endpoint}");
        Assert.Contains(host.Lines, l => l == $"export AZUREML_DEV_URL_MFE={endpoint.TrimEnd('/')}");
        Assert.Contains(host.Lines, l => l == $"export REQUESTS_CA_BUNDLE={temp.Combine("ca-bundle.pem")}");
        Assert.DoesNotContain(host.Lines, l => l.Contains("s3cret", StringComparison.Ordinal));

        var trusted = X509CertificateLoader.LoadCertificateFromFile(certificate);
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.RawData.AsSpan().SequenceEqual(trusted.RawData),
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(endpoint) };
        using var token = await http.PostAsync("t1/oauth2/v2.0/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "app1",
            ["client_secret"] = "s3cret",
            ["scope"] = "https://management.azure.com/.default",
        }));
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        var accessToken = (string)JsonNode.Parse(await token.Content.ReadAsStringAsync())!["access_token"]!;
        const string compute = "subscriptions/00000000-0000-0000-0000-0000000000b1/resourceGroups/strata/providers/Microsoft.MachineLearningServices/"
            + "workspaces/ws1/computes/gpu?api-version=2024-10-01";
        using var anonymous = await http.GetAsync(compute);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, compute);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var signedIn = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal(2, (int?)JsonNode.Parse(await signedIn.Content.ReadAsStringAsync())!["properties"]!["properties"]!["scaleSettings"]!["maxNodeCount"]);

        host.Interrupt();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await host.WaitForExitAsync(timeout.Token);
        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}\n{host.Error}");
        Assert.Contains("arm GET /subscriptions/", host.Error, StringComparison.Ordinal);
    }
}
