using System.Text.Json;
using Strata.Containers.Tests;

namespace Strata.Azure.Tests.MachineLearning;

/// <summary>
/// The seed's Azure ML flow with images built by Strata: the stack has a registry and an image builder, the operator no
/// environment_name; the operator registers the built image as an environment version, and the emulator pulls it from the
/// registry and runs the job's command in its container for real (podman), where the job reaches the HTTPS Azurite as its
/// managed identity.
/// </summary>
public sealed class AzureMLBuiltImageTests(ContainerServices services) : IClassFixture<ContainerServices>, IDisposable
{
    private readonly TempDirectory _temp = new("strata-azureml-built");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_quickstart_trains_in_the_image_strata_built_registered_as_an_azure_ml_environment()
    {
        await using var stack = await AzureMLStack.StartAsync(o =>
        {
            o.ContainerRunner = ContainerServices.ContainerRunner;
            foreach (var (name, value) in services.ContainerRunnerEnvironment(_temp.Path)) o.ContainerRunnerEnvironment[name] = value;
        });
        var home = _temp.Combine("home");
        (int ExitCode, string Out, string Error) Ok(params string[] args)
        {
            var result = stack.Strata(home, stack.SignedInEnvironment(), args);
            Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
            return result;
        }

        Ok("artifact-store", "register", "lake", "--flavor=azure", $"--path={stack.StorePath}", $"--account_name={HttpsAzurite.AccountName}",
            $"--endpoint_url={stack.Azurite.Endpoint}");
        Ok("container-registry", "register", "registry", "--flavor=default", $"--uri={services.NewRegistryUri("azureml")}");
        Ok("image-builder", "register", "dotnet", "--flavor=dotnet");
        Ok("step-operator", "register", "azureml",
            "--flavor=azureml",
            $"--subscription_id={AzureMLStack.Subscription}",
            $"--resource_group={AzureMLStack.ResourceGroup}",
            $"--workspace_name={AzureMLStack.Workspace}",
            $"--compute_target_name={AzureMLStack.Compute}",
            $"--base_image={services.BaseImage}",
            $"--arm_endpoint={stack.Emulator.Endpoint}",
            $"--authority_host={stack.Emulator.AuthorityHost}");
        Ok("stack", "register", "azure", "-o", "default", "-a", "lake", "-s", "azureml", "-c", "registry", "-i", "dotnet", "--set");

        var run = Ok("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.Contains("image: pushed app layer", run.Out, StringComparison.Ordinal);
        Assert.Contains("✓ train completed", run.Out, StringComparison.Ordinal);

        var environment = Assert.Single(stack.Emulator.Requests, r => r.Method == "PUT" && r.Path.Contains("/environments/", StringComparison.Ordinal));
        Assert.Contains("/environments/strata-Quickstart/versions/", environment.Path, StringComparison.Ordinal);
        Assert.Contains($"\"{services.Registry}/azureml-", environment.Body, StringComparison.Ordinal);
        var job = Assert.Single(stack.CreatedJobs())["properties"]!;
        Assert.StartsWith("dotnet /app/Quickstart.dll strata-step --manifest ", (string)job["command"]!, StringComparison.Ordinal);
        var id = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().Single().GetProperty("id").GetString()!;
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs, StringComparison.Ordinal); // printed in the built image's container
    }
}
