using System.Text.Json;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>The README's flow on Google Cloud, with the real <c>strata</c> command: a gcs store and a vertex operator, stacked, running the Quickstart.</summary>
public sealed class VertexCliTests : IAsyncLifetime
{
    private VertexStack _stack = null!;

    public async Task InitializeAsync() => _stack = await VertexStack.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private (int ExitCode, string Out, string Error) Ok(params string[] args)
    {
        var result = _stack.Strata(Path.Combine(_stack.Directory, "home"), args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
        return result;
    }

    [Fact]
    public void The_seed_register_command_trains_the_quickstart_on_vertex_ai()
    {
        var quickstart = RepoPaths.QuickstartDll();

        Ok("artifact-store", "register", "gcs", "--flavor=gcs", $"--path={_stack.StorePath}", $"--endpoint_url={_stack.Emulator.Endpoint}");
        // The seed's command (seed-step-operators.md) with strata for zenml; the emulator's endpoint added to reach it.
        Ok("step-operator", "register", "vertex",
            "--flavor=vertex",
            "--project=zenml-core",
            $"--service_account_path={_stack.KeyFile}",
            "--region=europe-west1",
            "--machine_type=n1-standard-4",
            $"--base_image={VertexStack.Image}",
            "--accelerator_type=NVIDIA_TESLA_T4",
            $"--endpoint_url={_stack.Emulator.Endpoint}");
        var described = Ok("step-operator", "flavor", "describe", "vertex");
        Ok("stack", "register", "gcp", "-o", "default", "-a", "gcs", "-s", "vertex", "--set");

        var run = _stack.Strata(Path.Combine(_stack.Directory, "home"), "pipeline", "run", "quickstart", "--assembly", quickstart);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        Assert.Contains("✓ train completed", run.Out);

        Assert.Contains("service_account_path", described.Out);
        Assert.Contains("accelerator_type", described.Out);
        var job = Assert.Single(_stack.CreatedJobs());
        var pool = job["jobSpec"]!["workerPoolSpecs"]![0]!;
        Assert.Equal(VertexStack.Image, (string)pool["containerSpec"]!["imageUri"]!);
        Assert.Equal("n1-standard-4", (string)pool["machineSpec"]!["machineType"]!);
        Assert.Equal("NVIDIA_TESLA_T4", (string)pool["machineSpec"]!["acceleratorType"]!);
        Assert.Equal(1, (int)pool["machineSpec"]!["acceleratorCount"]!);
        Assert.StartsWith("projects/zenml-core/locations/europe-west1/customJobs/", Assert.Single(_stack.Emulator.JobNames));

        var runs = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().ToArray();
        var id = Assert.Single(runs).GetProperty("id").GetString()!;
        var show = JsonDocument.Parse(Ok("run", "show", id, "--output", "json").Out).RootElement;
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal("vertex", steps["train"].GetProperty("step_operator").GetString());
        Assert.All(steps.Values, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        Assert.StartsWith(_stack.StorePath + "/", steps["train"].GetProperty("outputs")[0].GetProperty("uri").GetString());
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the job, read back from Cloud Logging
        Assert.Contains("[vertex] JOB_STATE_SUCCEEDED", logs);
    }
}
