using System.Text.Json;
using Strata.Aws.Tests.S3;
using Strata.Emulators.Aws;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>The README's flow on AWS, with the real <c>strata</c> command: register an s3 store and a sagemaker operator, stack them, run the Quickstart.</summary>
[Collection(S3Collection.Name)]
public sealed class SageMakerCliTests(S3Server s3) : IDisposable
{
    private readonly TempDirectory _temp = new("strata-sagemaker-cli");

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Out, string Error) Strata(params string[] args) => SageMakerStack.Strata(_temp.Path, _temp.Combine("home"), args);

    private (int ExitCode, string Out, string Error) Ok(params string[] args)
    {
        var result = Strata(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
        return result;
    }

    /// <summary>An emulator whose training image runs the real strata command, with a job home of this test's own.</summary>
    private Task<SageMakerEmulator> StartEmulatorAsync()
    {
        Directory.CreateDirectory(_temp.Combine("job-home"));
        return SageMakerEmulator.StartAsync(new SageMakerEmulatorOptions
        {
            Credentials = { [S3Server.AccessKey] = S3Server.SecretKey },
            Images = { [SageMakerStack.Image] = SageMakerStack.StrataImage(_temp.Combine("job-home")) },
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
        });
    }

    [Fact]
    public async Task The_quickstart_trains_on_sagemaker_from_the_command_line()
    {
        var quickstart = RepoPaths.QuickstartDll();
        await using var emulator = await StartEmulatorAsync();
        var bucket = await s3.NewBucketConfigAsync("quickstart");

        Ok("artifact-store", "register", "s3", "--flavor=s3", $"--path={bucket.Path}", $"--endpoint_url={bucket.EndpointUrl}", "--region=us-east-1");
        Ok("step-operator", "register", "sm", "--flavor=sagemaker", $"--role={SageMakerStack.Role}", $"--image={SageMakerStack.Image}",
            $"--endpoint_url={emulator.Endpoint}", "--instance_type=ml.m5.xlarge");
        var described = Ok("step-operator", "flavor", "describe", "sagemaker");
        Assert.Contains("instance_type", described.Out);
        Ok("stack", "register", "aws", "-o", "default", "-a", "s3", "-s", "sm", "--set");

        var run = Strata("pipeline", "run", "quickstart", "--assembly", quickstart);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        Assert.Contains("✓ train completed", run.Out);

        var runs = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().ToArray();
        var id = Assert.Single(runs).GetProperty("id").GetString()!;
        var show = JsonDocument.Parse(Ok("run", "show", id, "--output", "json").Out).RootElement;
        Assert.Equal("completed", show.GetProperty("run").GetProperty("status").GetString());
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal("sm", steps["train"].GetProperty("step_operator").GetString());
        Assert.Equal(JsonValueKind.Null, steps["evaluate"].GetProperty("step_operator").ValueKind);
        Assert.All(steps.Values, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        Assert.StartsWith(bucket.Path + "/", steps["train"].GetProperty("outputs")[0].GetProperty("uri").GetString());

        var job = Assert.Single(emulator.Requests, r => r is { Operation: "CreateTrainingJob", Status: 200 });
        Assert.Contains("\"InstanceType\":\"ml.m5.xlarge\"", job.Body);
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the job, read back from CloudWatch
        Assert.Contains("[sagemaker] Training", logs);
    }

    [Fact]
    public async Task The_seed_register_command_trains_the_quickstart_on_sagemaker()
    {
        var quickstart = RepoPaths.QuickstartDll();
        await using var emulator = await StartEmulatorAsync();
        var bucket = await s3.NewBucketConfigAsync("seed");
        var bucketName = bucket.Path["s3://".Length..].Split('/')[0];

        Ok("artifact-store", "register", "s3", "--flavor=s3", $"--path={bucket.Path}", $"--endpoint_url={bucket.EndpointUrl}", "--region=us-east-1");
        // The seed's command (seed-step-operators.md) with strata for zenml; the emulator's endpoint added to reach it.
        Ok("step-operator", "register", "sagemaker",
            "--flavor=sagemaker",
            $"--role={SageMakerStack.Role}",
            "--instance_type=ml.m5.xlarge",
            $"--base_image={SageMakerStack.Image}",
            $"--bucket_name={bucketName}",
            "--experiment_name=seed-experiment",
            $"--endpoint_url={emulator.Endpoint}");
        Ok("stack", "register", "aws", "-o", "default", "-a", "s3", "-s", "sagemaker", "--set");

        var run = Strata("pipeline", "run", "quickstart", "--assembly", quickstart); // train goes to the stack's step operator
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        Assert.Contains("✓ train completed", run.Out);

        var job = Assert.Single(emulator.Requests, r => r is { Operation: "CreateTrainingJob", Status: 200 });
        Assert.Contains($"\"S3OutputPath\":\"s3://{bucketName}/sagemaker\"", job.Body);
        Assert.Contains($"\"TrainingImage\":\"{SageMakerStack.Image}\"", job.Body);
        Assert.Contains("\"ExperimentName\":\"seed-experiment\"", job.Body);
        Assert.Contains("\"InstanceType\":\"ml.m5.xlarge\"", job.Body);
    }
}
