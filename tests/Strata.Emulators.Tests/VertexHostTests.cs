using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Strata.Emulators.Tests.Support;

namespace Strata.Emulators.Tests;

/// <summary><c>strata-emulators vertex</c> as a user runs it: Vertex AI, Logging, tokens and storage on the endpoint it printed, with a key file.</summary>
public sealed class VertexHostTests
{
    [Fact]
    public async Task The_host_prints_the_strata_and_gcloud_settings_writes_a_key_and_refuses_calls_without_a_token()
    {
        using var temp = new TempDirectory("strata-vertex-host");
        using var host = await EmulatorHostProcess.StartAsync("vertex", "--port", "0", "--bucket", "models", "--work-dir", temp.Path,
            "--image", "app:1=/bin/sh -c");

        var endpoint = host.After("Google Cloud emulator listening on ").Split(' ')[0];
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", endpoint);
        var key = temp.Combine("key.json");
        Assert.Contains(host.Lines, l => l == $"Service-account key (token_uri points here): {key}");
        Assert.Contains(host.Lines, l => l == $"strata step-operator register vertex --flavor=vertex --project=strata-emulator --region=europe-west1 " +
            $"--service_account_path={key} --endpoint_url={endpoint} --image=app:1");
        Assert.Contains(host.Lines, l => l == $"gcloud config set api_endpoint_overrides/aiplatform {endpoint}");
        Assert.Contains(host.Lines, l => l == $"gcloud config set api_endpoint_overrides/logging {endpoint}");
        Assert.Equal($"{endpoint}token", (string?)JsonNode.Parse(await File.ReadAllTextAsync(key))!["token_uri"]);

        using var http = new HttpClient { BaseAddress = new Uri(endpoint) };
        using var list = await http.GetAsync("v1/projects/p/locations/europe-west1/customJobs");
        using var bucket = await http.GetAsync("storage/v1/b/models");
        using var logs = await http.PostAsync("v2/entries:list", new StringContent("{\"resourceNames\":[\"projects/p\"]}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Contains("\"UNAUTHENTICATED\"", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, bucket.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, logs.StatusCode);

        host.Interrupt();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await host.WaitForExitAsync(timeout.Token);
        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}\n{host.Error}");
        Assert.Contains("aiplatform.ListCustomJobs GET /v1/projects/p/locations/europe-west1/customJobs 401 UNAUTHENTICATED", host.Error, StringComparison.Ordinal);
    }
}
