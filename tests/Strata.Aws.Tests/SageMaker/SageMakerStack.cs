using System.Text.Json.Nodes;
using Strata.Aws.Tests.S3;
using Strata.Emulators.Aws;
using Strata.Emulators.Jobs;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>
/// A Strata home whose active stack runs on AWS as the tests have it: an s3 artifact store on s3rver and a sagemaker
/// step operator named <c>sm</c> on the emulator, whose training image runs the real <c>strata</c> command (beside the
/// tests) as the step entrypoint, in an environment of its own that holds the S3 credentials an execution role would give.
/// </summary>
internal sealed class SageMakerStack : IAsyncDisposable
{
    public const string Operator = "sm";
    public const string Image = EmulatorHarness.Image;
    public const string Role = EmulatorHarness.Role;

    private readonly TempDirectory _temp;

    private SageMakerStack(TempDirectory temp, SageMakerEmulator emulator, StrataClient client, S3ArtifactStoreConfig s3)
    {
        _temp = temp;
        Emulator = emulator;
        Client = client;
        S3 = s3;
    }

    public SageMakerEmulator Emulator { get; }
    public StrataClient Client { get; }
    public S3ArtifactStoreConfig S3 { get; }

    /// <summary>
    /// Runs the <c>strata</c> command of this build (<see cref="RepoPaths.StrataDll"/>) in <paramref name="directory"/> with its own home, as a user
    /// would, with AWS credentials in the environment: the standard AWS chain gives both the s3 store and the sagemaker operator theirs.
    /// </summary>
    public static (int ExitCode, string Out, string Error) Strata(string directory, string home, params string[] args) =>
        StrataProcess.Run(directory, home, new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey,
            ["AWS_REGION"] = "us-east-1",
        }, args);

    /// <summary>The image a job with <see cref="Image"/> runs: <c>dotnet strata.dll</c>, with only the environment a container would have.</summary>
    public static EmulatedImage StrataImage(string home)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = home,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            // What the execution role gives a real job: credentials for the bucket.
            ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey,
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) environment["DOTNET_ROOT"] = root;
        return new EmulatedImage { Entrypoint = [RepoPaths.Dotnet(), RepoPaths.StrataDll], Environment = environment };
    }

    public static async Task<SageMakerStack> StartAsync(S3Server s3Server, Action<SageMakerEmulatorOptions>? configure = null,
        IReadOnlyDictionary<string, string>? operatorConfig = null)
    {
        var temp = new TempDirectory("strata-sagemaker-stack");
        Directory.CreateDirectory(temp.Combine("job-home"));
        var options = new SageMakerEmulatorOptions
        {
            Credentials = { [EmulatorHarness.AccessKey] = EmulatorHarness.SecretKey },
            Images = { [Image] = StrataImage(temp.Combine("job-home")) },
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
            StopGracePeriod = TimeSpan.FromSeconds(3),
        };
        configure?.Invoke(options);
        var emulator = await SageMakerEmulator.StartAsync(options);

        var client = await StrataClient.OpenAsync(new StrataHome(temp.Combine("home")), new FlavorRegistry().AddAws());
        await client.Stacks.EnsureDefaultStackAsync();
        var s3 = await s3Server.NewBucketConfigAsync();
        // Credentials as users give them: secret references, resolved only when a component is used.
        await client.Secrets.CreateAsync("s3", new Dictionary<string, string> { ["key"] = S3Server.AccessKey, ["secret"] = S3Server.SecretKey });
        await client.Secrets.CreateAsync("sagemaker", new Dictionary<string, string> { ["key"] = EmulatorHarness.AccessKey, ["secret"] = EmulatorHarness.SecretKey });
        await client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "lake", "s3", new Dictionary<string, string>
        {
            ["path"] = s3.Path,
            ["endpoint_url"] = s3.EndpointUrl!,
            ["region"] = "us-east-1",
            ["access_key_id"] = "{{s3.key}}",
            ["secret_access_key"] = "{{s3.secret}}",
        });
        var config = new Dictionary<string, string>
        {
            ["role"] = Role,
            ["image"] = Image,
            ["endpoint_url"] = emulator.Endpoint.ToString(),
            ["region"] = "us-east-1",
            ["access_key_id"] = "{{sagemaker.key}}",
            ["secret_access_key"] = "{{sagemaker.secret}}",
        };
        foreach (var (k, v) in operatorConfig ?? new Dictionary<string, string>()) config[k] = v;
        await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, Operator, "sagemaker", config);
        await client.Stacks.RegisterStackAsync("aws", "default", "lake", [Operator]);
        await client.Stacks.SetActiveStackAsync("aws");
        return new SageMakerStack(temp, emulator, client, s3);
    }

    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, CancellationToken cancellationToken = default, Dictionary<string, StepOverride>? steps = null,
        TimeProvider? time = null) =>
        Client.RunAsync(pipeline, new RunOptions { NoCache = true, Observer = RunObservers.None, Steps = steps ?? [], TimeProvider = time }, cancellationToken);

    /// <summary>The CreateTrainingJob requests the emulator accepted, as sent.</summary>
    public IReadOnlyList<JsonObject> CreatedJobs() => Emulator.Requests
        .Where(r => r is { Operation: "CreateTrainingJob", Status: 200 })
        .Select(r => JsonNode.Parse(r.Body)!.AsObject())
        .ToArray();

    public async Task<string?> StepLogAsync(RunResult result, string step) => await Client.Store.GetStepLogAsync(result[step].StepRunId!);

    public async Task<StepRunRecord> StepRunAsync(RunResult result, string step) =>
        (await Client.Store.ListStepRunsAsync(result.Run.Id)).Single(s => s.Id == result[step].StepRunId);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Emulator.DisposeAsync();
        _temp.Dispose();
    }
}
