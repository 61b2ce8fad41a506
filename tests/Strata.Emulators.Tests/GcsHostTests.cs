using System.Net;
using Strata.Emulators.Tests.Support;

namespace Strata.Emulators.Tests;

/// <summary><c>strata-emulators gcs</c> as a user runs it: a real process on a free port, answering the JSON API at the endpoint it printed.</summary>
public sealed class GcsHostTests
{
    [Fact]
    public async Task The_host_prints_the_endpoint_and_gcloud_settings_serves_its_buckets_and_Ctrl_C_stops_it()
    {
        using var host = await EmulatorHostProcess.StartAsync("gcs", "--port", "0", "--bucket", "models", "--bucket", "data");

        var endpoint = host.After("GCS emulator listening on ").Split(' ')[0];
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", endpoint);
        Assert.Contains(host.Lines, l => l == $"gcloud config set api_endpoint_overrides/storage {endpoint}");
        Assert.Contains(host.Lines, l => l == "gcloud config set auth/disable_credentials true");
        Assert.Contains(host.Lines, l => l == $"strata artifact-store register lake --flavor=gcs --path=gs://models/strata --endpoint_url={endpoint}");

        using var http = new HttpClient { BaseAddress = new Uri(endpoint) };
        using var bucket = await http.GetAsync("storage/v1/b/data");
        using var missing = await http.GetAsync("storage/v1/b/nope");
        Assert.Equal(HttpStatusCode.OK, bucket.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        host.Interrupt();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await host.WaitForExitAsync(timeout.Token);
        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}\n{host.Error}");
        Assert.Contains("buckets.get GET /storage/v1/b/data 200", host.Error, StringComparison.Ordinal);
        Assert.Contains("buckets.get GET /storage/v1/b/nope 404 notFound", host.Error, StringComparison.Ordinal);
    }
}
