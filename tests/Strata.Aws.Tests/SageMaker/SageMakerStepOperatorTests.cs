using System.Text.Json.Nodes;
using Strata.Aws.Tests.S3;
using Strata.Emulators.Aws;
using Strata.Testing;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>Steps of the pipelines below; those on <c>sm</c> run as training jobs in a separate process, through the real <c>strata</c> entrypoint.</summary>
public static class SageMakerSteps
{
    [Step]
    public static int[] MakeNumbers(int count) => Enumerable.Range(1, count).ToArray();

    [Step(StepOperator = SageMakerStack.Operator)]
    public static int[] Square(int[] numbers)
    {
        Console.WriteLine($"squaring {numbers.Length} numbers in training job {Environment.GetEnvironmentVariable("TRAINING_JOB_NAME")}");
        return numbers.Select(n => n * n).ToArray();
    }

    [Step]
    public static int Sum(int[] values) => values.Sum();

    [Step(StepOperator = SageMakerStack.Operator)]
    public static int Explode(int epoch)
    {
        Console.WriteLine(); // a blank line: CloudWatch cannot hold it, the rest must still arrive
        Console.WriteLine($"epoch {epoch}: loss nan");
        throw new InvalidOperationException($"the loss went to NaN at epoch {epoch}");
    }

    [Step(StepOperator = SageMakerStack.Operator)]
    public static int Hold(string releaseFile)
    {
        Console.WriteLine("holding until released");
        var until = DateTime.UtcNow.AddMinutes(3);
        while (!File.Exists(releaseFile) && DateTime.UtcNow < until) Thread.Sleep(50);
        return 1;
    }

    [Step(StepOperator = SageMakerStack.Operator, Timeout = "2s")]
    public static int SleepPastTimeout(int seconds)
    {
        Console.WriteLine("sleeping");
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        return seconds;
    }

    [Step(StepOperator = SageMakerStack.Operator, Secrets = ["hf"])]
    public static string ReadSecret() => Environment.GetEnvironmentVariable("HF_TOKEN") is null ? "absent" : "present";
}

/// <summary>
/// The sagemaker operator on the emulator, with artifacts in s3rver: the conformance suite, and what only SageMaker does
/// (job names and requests, secondary statuses, max_run, retried and lost requests, withheld secrets).
/// </summary>
[Collection(S3Collection.Name)]
public sealed class SageMakerStepOperatorTests(S3Server s3) : StepOperatorConformance
{
    private SageMakerEmulator? _emulator;
    private S3ArtifactStoreConfig? _bucket;
    private readonly TempDirectory _jobHome = new("strata-sagemaker-job-home");

    private SageMakerEmulator Emulator => _emulator ?? throw new InvalidOperationException("The case has not started.");

    public override async Task InitializeAsync()
    {
        // A case's own emulator (it starts in a moment), whose image runs the real strata command against s3rver.
        _emulator = await SageMakerEmulator.StartAsync(new SageMakerEmulatorOptions
        {
            Credentials = { [EmulatorHarness.AccessKey] = EmulatorHarness.SecretKey },
            Images = { [SageMakerStack.Image] = SageMakerStack.StrataImage(_jobHome.Path) },
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
            StopGracePeriod = TimeSpan.FromSeconds(3),
        });
        _bucket = await s3.NewBucketConfigAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        _jobHome.Dispose();
    }

    protected override string Flavor => "sagemaker";

    // The command's own build: the one beside these tests runs on the test host's shared frameworks, which it lacks alone.
    protected override string StrataCommand => RepoPaths.StrataDll;

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddAws();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => new Dictionary<string, string>
    {
        ["role"] = SageMakerStack.Role,
        ["image"] = SageMakerStack.Image,
        ["endpoint_url"] = Emulator.Endpoint.ToString(),
        ["region"] = "us-east-1",
        ["access_key_id"] = "{{sagemaker.key}}",
        ["secret_access_key"] = "{{sagemaker.secret}}",
        // Above the cases' step timeout: there, the orchestrator stops the job, not SageMaker's own limit.
        ["max_run"] = "3600",
    };

    protected override ArtifactStoreUnderTest ArtifactStore => new("s3", new Dictionary<string, string>
    {
        ["path"] = _bucket!.Path,
        ["endpoint_url"] = _bucket.EndpointUrl!,
        ["region"] = "us-east-1",
        ["access_key_id"] = "{{s3.key}}",
        ["secret_access_key"] = "{{s3.secret}}",
    });

    protected override async Task PrepareAsync(StrataClient client)
    {
        await client.Secrets.CreateAsync("s3", new Dictionary<string, string> { ["key"] = S3Server.AccessKey, ["secret"] = S3Server.SecretKey });
        await client.Secrets.CreateAsync("sagemaker", new Dictionary<string, string> { ["key"] = EmulatorHarness.AccessKey, ["secret"] = EmulatorHarness.SecretKey });
    }

    protected override QueueSupport Queue => QueueSupport.None(
        "the emulator starts every job at once; a job held in Starting by a slow emulator is A_job_stuck_starting_fails_at_the_pending_timeout_with_its_secondary_status_and_is_stopped");

    protected override ResourceSupport Resources => ResourceSupport.Warned("instance_type");

    protected override string SecretsWithheld =>
        "SageMaker shows a job's environment to anyone who may describe it: the operator sends no secret value (the step log names the variables withheld)";

    /// <summary>The training job while SageMaker has not ended it, and the processes the emulator runs for it.</summary>
    protected override async Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        var described = await DescribeJobAsync(job.JobId);
        var live = new List<string>();
        if (!described.IsTerminal) live.Add($"training job {job.JobId}: {described.TrainingJobStatus}/{described.SecondaryStatus}");
        live.AddRange(ConformanceProcesses.InDirectory(Emulator.JobDirectory(job.JobId)));
        return live;
    }

    /// <summary>The CreateTrainingJob requests SageMaker was sent for the job.</summary>
    protected override Task<string> JobSpecAsync(StepJob job) => Task.FromResult(string.Join('\n', Emulator.Requests
        .Where(r => r.Operation == "CreateTrainingJob" && r.Body.Contains(job.JobId, StringComparison.Ordinal)).Select(r => r.Body)));

    private Task<Aws.SageMaker.DescribeTrainingJobResponse> DescribeJobAsync(string name) => new Aws.SageMaker.SageMakerClient(new AwsClientOptions
    {
        Region = "us-east-1",
        Credentials = new Amazon.Runtime.BasicAWSCredentials(EmulatorHarness.AccessKey, EmulatorHarness.SecretKey),
        SageMakerEndpoint = Emulator.Endpoint,
    }).DescribeTrainingJobAsync(name, CancellationToken.None);

    [Fact]
    public async Task A_step_runs_as_a_training_job_with_artifacts_lineage_and_logs()
    {
        await using var aws = await SageMakerStack.StartAsync(s3);

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Sum, p.Step(SageMakerSteps.Square, p.Step(SageMakerSteps.MakeNumbers, 4))));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal(1 + 4 + 9 + 16, await result.LoadAsync<int>("sum")); // the downstream in-process step read the job's output from S3

        // One training job, named from the step run, running the step entrypoint through the image's own entrypoint.
        var job = Assert.Single(aws.CreatedJobs());
        var name = (string)job["TrainingJobName"]!;
        var square = await aws.StepRunAsync(result, "square");
        Assert.Equal(StepJobNames.For(square.Id, "pipeline", "square"), name);
        Assert.Equal(SageMakerStack.Operator, square.StepOperator);
        Assert.Contains(name, square.Job);
        var spec = job["AlgorithmSpecification"]!.AsObject();
        Assert.Null(spec["ContainerEntrypoint"]);
        var arguments = spec["ContainerArguments"]!.AsArray().Select(a => (string)a!).ToArray();
        Assert.Equal([StrataEntrypoint.Verb, "--manifest"], arguments[..2]);
        Assert.StartsWith(aws.S3.Path + "/", arguments[2]);
        Assert.Equal(SageMakerStack.Role, (string)job["RoleArn"]!);
        Assert.Equal("ml.m5.large", (string)job["ResourceConfig"]!["InstanceType"]!);
        Assert.Equal(aws.S3.Path + "/sagemaker", (string)job["OutputDataConfig"]!["S3OutputPath"]!);
        Assert.Contains("\"flavor\":\"s3\"", (string)job["Environment"]!["STRATA_ARTIFACT_STORE"]!);

        // Artifacts: the job's output is in the s3 store and linked as the downstream step's input.
        var output = result["square"].Outputs["output"];
        Assert.StartsWith(aws.S3.Path + "/", output.Uri);
        Assert.Equal(square.Id, output.ProducerStepRunId);
        var inputs = await aws.Client.Store.GetStepInputsAsync(result.Run.Id);
        Assert.Equal(output.Id, Assert.Single(inputs, i => i.StepRunId == result["sum"].StepRunId).Artifact.Id);
        Assert.Equal(result["make_numbers"].Outputs["output"].Id, Assert.Single(inputs, i => i.StepRunId == square.Id).Artifact.Id);

        // The step's log holds the job's CloudWatch output and its SageMaker states.
        var log = await aws.StepLogAsync(result, "square");
        Assert.NotNull(log);
        Assert.Contains($"squaring 4 numbers in training job {name}", log);
        Assert.Contains($"[sagemaker] training job {name} on 1 × ml.m5.large in us-east-1", log);
        var states = log.Split('\n').Where(l => l.StartsWith("[sagemaker] ", StringComparison.Ordinal)).Select(l => l.Split(':')[0]).ToArray();
        Assert.Equal(["[sagemaker] Starting", "[sagemaker] Downloading", "[sagemaker] Training", "[sagemaker] Uploading", "[sagemaker] Completed"], states.Skip(1));
        Assert.True(log.IndexOf("squaring", StringComparison.Ordinal) > log.IndexOf("[sagemaker] Training", StringComparison.Ordinal));
        Assert.True(log.IndexOf("squaring", StringComparison.Ordinal) < log.IndexOf("[sagemaker] Uploading", StringComparison.Ordinal));
        Assert.Contains($"ran on step operator 'sm' (sagemaker), job {name}", log);
        var stream = aws.Emulator.LogStream(name)!;
        Assert.Contains(aws.Emulator.LogMessages("/aws/sagemaker/TrainingJobs", stream), m => m.Contains("squaring 4 numbers", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_step_shows_sagemakers_failure_in_its_log_and_a_blank_line_costs_no_output()
    {
        await using var aws = await SageMakerStack.StartAsync(s3);

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Explode, 3));

        var explode = result["explode"];
        Assert.Equal(ExecutionStatus.Failed, explode.Status);
        Assert.Contains("epoch 3: loss nan", explode.Error); // after a blank line, which CloudWatch cannot hold
        Assert.Contains((string)Assert.Single(aws.CreatedJobs())["TrainingJobName"]!, explode.Error);
        var log = await aws.StepLogAsync(result, "explode");
        Assert.Contains("[sagemaker] Failed", log);
        Assert.Contains("AlgorithmError", log); // SageMaker's failure reason
    }

    [Fact]
    public async Task A_job_that_fails_before_the_step_runs_reports_sagemakers_failure_reason()
    {
        await using var aws = await SageMakerStack.StartAsync(s3);

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Square, new[] { 1, 2 }),
            steps: new() { ["square"] = new StepOverride { Settings = { ["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1" } } });

        var square = result["square"];
        Assert.Equal(ExecutionStatus.Failed, square.Status);
        Assert.Contains("ClientError: Cannot find the training image '123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1'", square.Error);
        Assert.Contains("failed", square.Error);
        Assert.Contains("without a result", square.Error);
    }

    [Fact]
    public async Task The_steps_timeout_becomes_max_run_and_sagemaker_stops_the_job_after_it()
    {
        // Client and emulator share a clock that runs fast: the two-second limits pass without the test waiting for them.
        await using var clock = new Strata.Testing.FastClock(TimeSpan.FromMilliseconds(100));
        await using var aws = await SageMakerStack.StartAsync(s3, o => o.Time = clock.Time);

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.SleepPastTimeout, 120), time: clock.Time);

        var job = Assert.Single(aws.CreatedJobs());
        Assert.Equal(2, (int)job["StoppingCondition"]!["MaxRuntimeInSeconds"]!); // from [Step(Timeout = "2s")]
        var step = result["sleep_past_timeout"];
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        // Whichever comes first: SageMaker's own limit or the orchestrator's; the job is stopped either way.
        Assert.True(step.Error!.Contains("MaxRuntimeExceeded", StringComparison.Ordinal) || step.Error.Contains("ran longer than its timeout", StringComparison.Ordinal), step.Error);
        Assert.Equal("Stopped", (string)(await DescribeAsync(aws, (string)job["TrainingJobName"]!))["TrainingJobStatus"]!);
    }

    [Fact]
    public async Task Max_run_stops_the_job_and_fails_the_step_with_max_runtime_exceeded()
    {
        await using var clock = new Strata.Testing.FastClock(TimeSpan.FromMilliseconds(100));
        await using var aws = await SageMakerStack.StartAsync(s3, o => o.Time = clock.Time, new Dictionary<string, string> { ["max_run"] = "2" });

        // No step timeout here: only SageMaker's limit applies, on the emulator's (fast) clock.
        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Hold, Path.Combine(CaseDirectory, "never")), time: clock.Time);

        var step = result["hold"];
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        Assert.Contains("MaxRuntimeExceeded", step.Error);
        Assert.Contains("max_run", step.Error);
        var log = await aws.StepLogAsync(result, "hold");
        Assert.Contains("[sagemaker] MaxRuntimeExceeded", log);
    }

    [Fact]
    public async Task A_job_stuck_starting_fails_at_the_pending_timeout_with_its_secondary_status_and_is_stopped()
    {
        await using var aws = await SageMakerStack.StartAsync(s3, o => o.PhaseDelay = TimeSpan.FromMinutes(5),
            new Dictionary<string, string> { ["pending_timeout"] = "30m" });

        // Half an hour stuck in Starting, on a client clock that runs it in a moment.
        await using var clock = new Strata.Testing.FastClock(TimeSpan.FromSeconds(5));
        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Square, new[] { 1 }), time: clock.Time);

        var step = result["square"];
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        Assert.Contains("pending timeout", step.Error);
        Assert.Contains("Starting: Launching requested ML instances", step.Error);
        var name = (string)Assert.Single(aws.CreatedJobs())["TrainingJobName"]!;
        Assert.Contains(aws.Emulator.Requests, r => r is { Operation: "StopTrainingJob", Status: 200 } && r.Body.Contains(name, StringComparison.Ordinal));
        Assert.Equal("Stopped", (string)(await DescribeAsync(aws, name))["TrainingJobStatus"]!);
    }

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_and_the_run_completes()
    {
        await using var aws = await SageMakerStack.StartAsync(s3, o =>
        {
            o.ThrottleRate = 0.3;
            o.ServerErrorRate = 0.1;
            o.RandomSeed = 7;
        });

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Sum, p.Step(SageMakerSteps.Square, new[] { 2, 3 })));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal(13, await result.LoadAsync<int>("sum"));
        Assert.Contains(aws.Emulator.Requests, r => r.ErrorType == "ThrottlingException");
        Assert.Contains(aws.Emulator.Requests, r => r.Status >= 500);
        // Retries of the create never made a second job.
        Assert.Single(aws.Emulator.Requests, r => r is { Operation: "CreateTrainingJob", Status: 200 });
        Assert.Contains("squaring 2 numbers", await aws.StepLogAsync(result, "square"));
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_not_made_twice()
    {
        // The first CreateTrainingJob takes effect but answers 500; its retry meets ResourceInUse, which means "created".
        await using var aws = await SageMakerStack.StartAsync(s3, o => o.LoseNextResponse.Add("CreateTrainingJob"));

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.Square, new[] { 3 }));

        Assert.True(result.Succeeded, result["square"].Error);
        var squares = await result.LoadAsync<int[]>("square");
        Assert.Equal([9], squares);
        var creates = aws.Emulator.Requests.Where(r => r.Operation == "CreateTrainingJob").Select(r => (r.Status, r.ErrorType)).ToArray();
        Assert.Equal([(500, "InternalFailure"), (400, "ResourceInUse")], creates);
    }

    [Fact]
    public async Task Secret_values_never_reach_sagemaker_and_the_step_log_says_why()
    {
        const string value = "hf_Zq9-very-secret-token-value";
        await using var aws = await SageMakerStack.StartAsync(s3);
        await aws.Client.Secrets.CreateAsync("hf", new Dictionary<string, string> { ["hf_token"] = value });

        var result = await aws.RunAsync(p => p.Step(SageMakerSteps.ReadSecret));

        Assert.True(result.Succeeded, result["read_secret"].Error);
        Assert.Equal("absent", await result.LoadAsync<string>("read_secret"));
        Assert.NotEmpty(aws.Emulator.Requests);
        Assert.All(aws.Emulator.Requests, r => Assert.DoesNotContain(value, r.Body, StringComparison.Ordinal));
        Assert.Equal("HF_TOKEN", (string)Assert.Single(aws.CreatedJobs())["Environment"]!["STRATA_SECRET_VARIABLES"]!);
        var log = await aws.StepLogAsync(result, "read_secret");
        Assert.Contains("the step's secrets (HF_TOKEN) were not sent", log);
        Assert.Contains("execution role", log);
    }

    [Fact]
    public async Task Long_pipeline_and_step_names_still_make_a_valid_job_name()
    {
        await using var aws = await SageMakerStack.StartAsync(s3);
        // Long enough that the job name must be cut (over 63 characters), short enough that the manifest's URI, which
        // holds the pipeline's name twice (pipeline/run/step), stays within SageMaker's 256 characters per argument.
        var pipeline = PipelineDefinition.Build(p => p.Step(SageMakerSteps.Square, new[] { 5 }).Named("square_every_number_of_the_dataset"),
            name: "a-pipeline-with-a-name-longer-than-a-job-name-may-be");

        var result = await aws.Client.RunAsync(pipeline, new RunOptions { NoCache = true, Observer = RunObservers.None });

        Assert.True(result.Succeeded, result.Steps[0].Error);
        var name = (string)Assert.Single(aws.CreatedJobs())["TrainingJobName"]!;
        Assert.Matches("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", name);
        Assert.StartsWith("strata-a-pipeline-with", name);
    }

    [Fact]
    public async Task Sagemaker_on_a_stack_with_a_local_artifact_store_is_refused_before_anything_runs()
    {
        await using var aws = await SageMakerStack.StartAsync(s3);
        await aws.Client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "shared", "local",
            new Dictionary<string, string> { ["path"] = Path.Combine(CaseDirectory, "shared"), ["shared"] = "true" });
        await aws.Client.Stacks.RegisterStackAsync("local-store", "default", "default", [SageMakerStack.Operator]);
        await aws.Client.Stacks.RegisterStackAsync("shared-store", "default", "shared", [SageMakerStack.Operator]);

        foreach (var stack in new[] { "local-store", "shared-store" })
        {
            var error = await Assert.ThrowsAsync<StackValidationException>(() => aws.Client.RunAsync(
                PipelineDefinition.Build(p => p.Step(SageMakerSteps.Square, new[] { 1 })), new RunOptions { Stack = stack, Observer = RunObservers.None }));
            var problem = Assert.Single(error.Problems);
            Assert.Contains("step operator 'sm' (flavor sagemaker)", problem);
            Assert.Contains("s3 artifact store", problem);
            Assert.Contains("--flavor=s3", problem);
            Assert.Contains($"stack '{stack}'", problem);
        }
        Assert.Empty(aws.Emulator.Requests);
    }

    /// <summary>DescribeTrainingJob through a client of its own, once the job has ended (or after 30 s).</summary>
    private static async Task<JsonObject> DescribeAsync(SageMakerStack aws, string name)
    {
        var options = new AwsClientOptions
        {
            Region = "us-east-1",
            Credentials = new Amazon.Runtime.BasicAWSCredentials(EmulatorHarness.AccessKey, EmulatorHarness.SecretKey),
            SageMakerEndpoint = aws.Emulator.Endpoint,
        };
        var client = new Aws.SageMaker.SageMakerClient(options);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = await client.DescribeTrainingJobAsync(name, CancellationToken.None);
            if (job.IsTerminal || DateTime.UtcNow > deadline)
                return JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(job, Json.AwsJsonService.SageMaker.Json))!.AsObject();
            await Task.Delay(50);
        }
    }
}
