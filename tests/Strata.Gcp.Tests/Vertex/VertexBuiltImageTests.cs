using System.Text.Json;
using Strata.Containers.Tests;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>
/// The seed's Vertex flow with images built by Strata: the stack has a registry and an image builder, the operator only a
/// base_image; the emulator pulls the built image from the registry and runs its container for real (podman), as Vertex AI
/// would, and the job's artifacts travel through the emulator's Cloud Storage.
/// </summary>
public sealed class VertexBuiltImageTests(ContainerServices services) : IClassFixture<ContainerServices>, IDisposable
{
    private readonly TempDirectory _temp = new("strata-vertex-built");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_seeds_base_image_flag_trains_the_quickstart_in_the_image_strata_built()
    {
        var quickstart = RepoPaths.QuickstartDll();
        await using var stack = await VertexStack.StartAsync(o =>
        {
            o.ContainerRunner = ContainerServices.ContainerRunner;
            foreach (var (name, value) in services.ContainerRunnerEnvironment(_temp.Path)) o.ContainerRunnerEnvironment[name] = value;
        });
        var home = _temp.Combine("home");
        (int ExitCode, string Out, string Error) Ok(params string[] args)
        {
            var result = stack.Strata(home, args);
            Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
            return result;
        }

        Ok("artifact-store", "register", "gcs", "--flavor=gcs", $"--path={stack.StorePath}", $"--endpoint_url={stack.Emulator.Endpoint}");
        Ok("container-registry", "register", "registry", "--flavor=default", $"--uri={services.NewRegistryUri("vertex")}");
        Ok("image-builder", "register", "dotnet", "--flavor=dotnet");
        // The seed's command (seed-step-operators.md) with strata for zenml; the emulator's endpoint added to reach it.
        Ok("step-operator", "register", "vertex",
            "--flavor=vertex",
            "--project=zenml-core",
            $"--service_account_path={stack.KeyFile}",
            "--region=europe-west1",
            "--machine_type=n1-standard-4",
            $"--base_image={services.BaseImage}",
            "--accelerator_type=NVIDIA_TESLA_T4",
            $"--endpoint_url={stack.Emulator.Endpoint}");
        Ok("stack", "register", "gcp", "-o", "default", "-a", "gcs", "-s", "vertex", "-c", "registry", "-i", "dotnet", "--set");

        var run = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);
        Assert.Contains("image: pushed app layer", run.Out);
        Assert.Contains("✓ train completed", run.Out);

        var job = Assert.Single(stack.CreatedJobs());
        Assert.StartsWith($"{services.Registry}/vertex-", (string)job["jobSpec"]!["workerPoolSpecs"]![0]!["containerSpec"]!["imageUri"]!);
        var id = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().Single().GetProperty("id").GetString()!;
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the built image's container, read back from Cloud Logging
    }
}
