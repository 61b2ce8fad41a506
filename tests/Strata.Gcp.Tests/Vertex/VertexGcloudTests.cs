using System.Text.Json;
using Strata.Emulators.Gcp;
using Strata.Emulators.Jobs;
using Strata.Gcp.Tests.Support;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>
/// Google's own client accepts the Vertex AI and Cloud Logging emulator: <c>gcloud ai custom-jobs create/describe/list/
/// stream-logs/cancel</c>, with credentials disabled and the aiplatform and logging endpoints pointed at it. A request gcloud
/// sends that the emulator refuses fails here.
/// </summary>
public sealed class VertexGcloudTests : IAsyncLifetime
{
    private const string Region = "europe-west1";
    private const string Image = "local/shell:1";

    private readonly string _dir = Directory.CreateTempSubdirectory("strata-vertex-gcloud-").FullName;
    private VertexEmulator _emulator = null!;
    private Gcloud _gcloud = null!;

    public async Task InitializeAsync()
    {
        var options = new VertexEmulatorOptions { RequireAuthentication = false };
        options.Images[Image] = new EmulatedImage { Entrypoint = ["/bin/sh", "-c"] };
        _emulator = await VertexEmulator.StartAsync(options);
        _gcloud = new Gcloud(_dir, _emulator.Endpoint, "strata-emulator", "aiplatform", "logging");
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task Gcloud_creates_describes_lists_and_streams_the_logs_of_a_custom_job()
    {
        var name = (await _gcloud.RunAsync("ai", "custom-jobs", "create", $"--region={Region}", "--display-name=hello", "--labels=team=ml",
            $"--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,container-image-uri={Image}",
            "--args=echo hello from vertex; echo line two", "--format=value(name)")).Trim();
        var id = name[(name.LastIndexOf('/') + 1)..];
        Assert.Equal($"projects/strata-emulator/locations/{Region}/customJobs/{id}", name);
        await WaitForStateAsync(id, "JOB_STATE_SUCCEEDED");

        using var described = JsonDocument.Parse(await _gcloud.RunAsync("ai", "custom-jobs", "describe", id, $"--region={Region}", "--format=json"));
        var listed = await _gcloud.RunAsync("ai", "custom-jobs", "list", $"--region={Region}", "--filter=labels.team=ml", "--format=value(name)");
        // stream-logs shows entries older than 5 seconds only (it waits for late entries), then stops when the ended job is quiet.
        await Task.Delay(TimeSpan.FromSeconds(6));
        var logs = await _gcloud.RunAsync("ai", "custom-jobs", "stream-logs", id, $"--region={Region}", "--polling-interval=1");

        var job = described.RootElement;
        Assert.Equal("JOB_STATE_SUCCEEDED", job.GetProperty("state").GetString());
        Assert.Equal("hello", job.GetProperty("displayName").GetString());
        Assert.Equal("ml", job.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal("1", job.GetProperty("jobSpec").GetProperty("workerPoolSpecs")[0].GetProperty("replicaCount").GetString()); // int64 as a string
        Assert.Contains(name, listed, StringComparison.Ordinal);
        Assert.Contains("hello from vertex", logs, StringComparison.Ordinal);
        Assert.Contains("line two", logs, StringComparison.Ordinal);
        Assert.Contains("workerpool0-0", logs, StringComparison.Ordinal);
        AssertNothingRefused();
    }

    [Fact]
    public async Task Gcloud_creates_a_job_from_a_config_file_with_environment_and_timeout()
    {
        var config = Path.Combine(_dir, "job.yaml");
        await File.WriteAllTextAsync(config, $"""
            workerPoolSpecs:
              - machineSpec:
                  machineType: n1-standard-8
                  acceleratorType: NVIDIA_TESLA_T4
                  acceleratorCount: 1
                replicaCount: 1
                diskSpec:
                  bootDiskType: pd-ssd
                  bootDiskSizeGb: 100
                containerSpec:
                  imageUri: {Image}
                  args: ["echo greeting=$GREETING"]
                  env:
                    - name: GREETING
                      value: hi
            scheduling:
              timeout: 3600s
            """);
        var name = (await _gcloud.RunAsync("ai", "custom-jobs", "create", $"--region={Region}", "--display-name=configured", $"--config={config}",
            "--format=value(name)")).Trim();
        var id = name[(name.LastIndexOf('/') + 1)..];
        await WaitForStateAsync(id, "JOB_STATE_SUCCEEDED");

        Assert.Contains("greeting=hi", _emulator.LogLines(id));
        var body = _emulator.RequestBodies.Single(b => b.Operation == "aiplatform.CreateCustomJob" && b.Body.Contains("configured", StringComparison.Ordinal));
        Assert.Contains("\"3600s\"", body.Body, StringComparison.Ordinal);
        Assert.Contains("NVIDIA_TESLA_T4", body.Body, StringComparison.Ordinal);
        AssertNothingRefused();
    }

    [Fact]
    public async Task Gcloud_cancels_a_running_job_and_the_process_stops()
    {
        var name = (await _gcloud.RunAsync("ai", "custom-jobs", "create", $"--region={Region}", "--display-name=sleeper",
            $"--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,container-image-uri={Image}", "--args=echo started; sleep 300",
            "--format=value(name)")).Trim();
        var id = name[(name.LastIndexOf('/') + 1)..];
        await WaitForStateAsync(id, "JOB_STATE_RUNNING");

        await _gcloud.RunAsync("ai", "custom-jobs", "cancel", id, $"--region={Region}");
        await WaitForStateAsync(id, "JOB_STATE_CANCELLED");
        var state = await _gcloud.RunAsync("ai", "custom-jobs", "describe", id, $"--region={Region}", "--format=value(state)");

        Assert.Equal("JOB_STATE_CANCELLED", state.Trim());
        Assert.False(_emulator.IsRunning(id));
        AssertNothingRefused();
    }

    private async Task WaitForStateAsync(string id, string state)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (_emulator.JobState(id) != state)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"job {id} is {_emulator.JobState(id)}, not {state}; log: {string.Join(" | ", _emulator.LogLines(id))}");
            await Task.Delay(50);
        }
    }

    private void AssertNothingRefused()
    {
        var refused = _emulator.Requests.Where(r => r.Status >= 400).ToArray();
        Assert.True(refused.Length == 0, "the emulator refused requests gcloud sent: " +
            string.Join("; ", refused.Select(r => $"{r.Method} {r.Path} ({r.Operation}) -> {r.Status} {r.Reason}")));
    }
}
