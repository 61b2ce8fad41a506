using System.Text.Json;
using Strata.Aws.Tests.S3;
using Strata.Containers.Tests;
using Strata.Emulators.Aws;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>
/// The seed's SageMaker flow with images built by Strata: the stack has a registry and an image builder, the operator only a
/// base_image; the emulator pulls the built image from the registry and runs its entrypoint for real (podman), as SageMaker would.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class SageMakerBuiltImageTests(S3Server s3, ContainerServices services) : IClassFixture<ContainerServices>, IDisposable
{
    private readonly TempDirectory _temp = new("strata-sagemaker-built");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_seeds_base_image_flag_trains_the_quickstart_in_the_image_strata_built()
    {
        var quickstart = RepoPaths.QuickstartDll();
        var options = new SageMakerEmulatorOptions
        {
            Credentials = { [S3Server.AccessKey] = S3Server.SecretKey },
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
            ContainerRunner = ContainerServices.ContainerRunner,
            // What the execution role gives a real job: credentials for the bucket.
            ContainerEnvironment = { ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey },
        };
        foreach (var (name, value) in services.ContainerRunnerEnvironment(_temp.Path)) options.ContainerRunnerEnvironment[name] = value;
        await using var emulator = await SageMakerEmulator.StartAsync(options);
        var bucket = await s3.NewBucketConfigAsync("built");
        var bucketName = bucket.Path["s3://".Length..].Split('/')[0];
        var home = _temp.Combine("home");
        (int ExitCode, string Out, string Error) Ok(params string[] args)
        {
            var result = SageMakerStack.Strata(_temp.Path, home, args);
            Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
            return result;
        }

        Ok("artifact-store", "register", "s3", "--flavor=s3", $"--path={bucket.Path}", $"--endpoint_url={bucket.EndpointUrl}", "--region=us-east-1");
        Ok("container-registry", "register", "registry", "--flavor=default", $"--uri={services.NewRegistryUri("sagemaker")}");
        Ok("image-builder", "register", "dotnet", "--flavor=dotnet");
        // The seed's command (seed-step-operators.md) with strata for zenml; the emulator's endpoint added to reach it.
        Ok("step-operator", "register", "sagemaker",
            "--flavor=sagemaker",
            $"--role={SageMakerStack.Role}",
            "--instance_type=ml.m5.xlarge",
            $"--base_image={services.BaseImage}",
            $"--bucket_name={bucketName}",
            $"--endpoint_url={emulator.Endpoint}");
        Ok("stack", "register", "aws", "-o", "default", "-a", "s3", "-s", "sagemaker", "-c", "registry", "-i", "dotnet", "--set");

        var run = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);
        Assert.Contains("image: pushed app layer", run.Out);
        Assert.Contains("✓ train completed", run.Out);

        var job = Assert.Single(emulator.Requests, r => r is { Operation: "CreateTrainingJob", Status: 200 });
        Assert.Contains($"\"TrainingImage\":\"{services.Registry}/sagemaker-", job.Body);
        var id = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().Single().GetProperty("id").GetString()!;
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the built image's container, read back from CloudWatch
    }
}
