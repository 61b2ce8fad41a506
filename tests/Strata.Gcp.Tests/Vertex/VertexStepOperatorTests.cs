using Strata.Testing;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>Steps of the pipelines below; those on <c>vx</c> run as Vertex AI custom jobs in a separate process, through the real entrypoint.</summary>
public static class VertexSteps
{
    public const string Operator = "vx";

    [Step]
    public static int[] MakeNumbers(int count) => Enumerable.Range(1, count).ToArray();

    [Step(StepOperator = Operator)]
    public static int[] Square(int[] numbers)
    {
        Console.WriteLine($"squaring {numbers.Length} numbers in custom job {Environment.GetEnvironmentVariable("CLOUD_ML_JOB_ID")}");
        return numbers.Select(n => n * n).ToArray();
    }

    [Step]
    public static int Sum(int[] values) => values.Sum();

    [Step(StepOperator = Operator)]
    public static int Explode(int epoch)
    {
        Console.WriteLine($"epoch {epoch}: loss nan");
        throw new InvalidOperationException($"the loss went to NaN at epoch {epoch}");
    }

    [Step(StepOperator = Operator, Secrets = ["hf"])]
    public static string ReadSecret() => Environment.GetEnvironmentVariable("HF_TOKEN") is null ? "absent" : "present";
}

/// <summary>
/// The vertex operator on the emulator, with artifacts in the emulator's Cloud Storage: the conformance suite, and what only
/// Vertex AI does (the job's spec, states in the log, throttling, lost answers, withheld secrets, a refused key).
/// </summary>
public sealed class VertexStepOperatorTests : StepOperatorConformance
{
    private VertexStack? _stack;

    private VertexStack Stack => _stack ?? throw new InvalidOperationException("The case has not started.");

    public override async Task InitializeAsync()
    {
        _stack = await VertexStack.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_stack is not null) await _stack.DisposeAsync();
    }

    protected override string Flavor => "vertex";

    // The command's own build: the one beside these tests runs on the test host's shared frameworks, which it lacks alone.
    protected override string StrataCommand => RepoPaths.StrataDll;

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddGcp();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => Stack.OperatorConfig();

    protected override ArtifactStoreUnderTest ArtifactStore => new("gcs", Stack.StoreConfig());

    protected override QueueSupport Queue => QueueSupport.HeldBy(new Dictionary<string, string> { ["machine_type"] = VertexStack.UnavailableMachine },
        "JOB_STATE_PENDING");

    protected override ResourceSupport Resources => ResourceSupport.Warned("machine_type");

    protected override string SecretsWithheld =>
        "Vertex AI shows a job's spec to anyone who can read the job: the operator sends no secret value (the step log names the variables withheld)";

    /// <summary>The custom job while Vertex AI has not ended it, and the processes the emulator runs for it.</summary>
    protected override Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        var id = job.Data["job_id"];
        var live = new List<string>();
        var state = Stack.Emulator.JobState(id);
        if (state is not ("JOB_STATE_SUCCEEDED" or "JOB_STATE_FAILED" or "JOB_STATE_CANCELLED")) live.Add($"custom job {id}: {state}");
        live.AddRange(ConformanceProcesses.InDirectory(Stack.Emulator.JobDirectory(id)));
        return Task.FromResult<IReadOnlyList<string>>(live);
    }

    /// <summary>The CreateCustomJob requests Vertex AI was sent for the job.</summary>
    protected override Task<string> JobSpecAsync(StepJob job) => Task.FromResult(string.Join('\n', Stack.Emulator.RequestBodies
        .Where(r => r.Operation == "aiplatform.CreateCustomJob" && r.Body.Contains(job.Data["display_name"], StringComparison.Ordinal)).Select(r => r.Body)));
}
