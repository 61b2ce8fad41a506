using Strata.Testing;

namespace Strata.Azure.Tests.MachineLearning;

/// <summary>
/// The azureml operator on the Azure ML emulator, with artifacts in an HTTPS Azurite the jobs reach as their managed identity:
/// the step-operator conformance suite.
/// </summary>
public sealed class AzureMLStepOperatorTests : StepOperatorConformance
{
    private AzureMLStack? _stack;

    private AzureMLStack Stack => _stack ?? throw new InvalidOperationException("The case has not started.");

    public override async Task InitializeAsync()
    {
        _stack = await AzureMLStack.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_stack is not null) await _stack.DisposeAsync();
    }

    protected override string Flavor => "azureml";

    // The command's own build: the one beside these tests runs on the test host's shared frameworks, which it lacks alone.
    protected override string StrataCommand => RepoPaths.StrataDll;

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddAzure();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => Stack.OperatorConfig();

    protected override IReadOnlyDictionary<string, string> CommandEnvironment => AzureMLStack.TrustEnvironment();

    protected override IReadOnlyList<string>? Entrypoint => AzureMLStack.Entrypoint.Split(',');

    protected override ArtifactStoreUnderTest ArtifactStore => new("azure", Stack.StoreConfig());

    protected override async Task PrepareAsync(StrataClient client)
    {
        await client.Secrets.CreateAsync("azureml", Stack.Secrets("azureml"));
        await client.Secrets.CreateAsync("azurite", Stack.Secrets("azurite"));
    }

    protected override QueueSupport Queue => QueueSupport.HeldBy(new Dictionary<string, string> { ["compute_target_name"] = AzureMLStack.BusyCompute },
        "Queued: waiting for busy-cluster");

    protected override ResourceSupport Resources => ResourceSupport.Warned("instance_type");

    protected override string SecretsWithheld =>
        "Azure ML studio shows a job's environment variables to anyone who can read the job: the operator sends no secret value (the step log names " +
        "the variables withheld); the job reaches the store as its compute's managed identity";

    /// <summary>The job while Azure ML has not ended it, and the processes the emulator runs for it.</summary>
    protected override Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        var live = new List<string>();
        var status = Stack.Emulator.JobStatus(job.JobId);
        if (status is not ("Completed" or "Failed" or "Canceled" or null)) live.Add($"Azure ML job {job.JobId}: {status}");
        live.AddRange(ConformanceProcesses.InDirectory(Stack.Emulator.JobDirectory(job.JobId)));
        return Task.FromResult<IReadOnlyList<string>>(live);
    }

    /// <summary>The job bodies ARM was sent for the job.</summary>
    protected override Task<string> JobSpecAsync(StepJob job) => Task.FromResult(string.Join('\n', Stack.Emulator.Requests
        .Where(r => r.Method == "PUT" && r.Path.Contains($"/jobs/{job.JobId}", StringComparison.Ordinal)).Select(r => r.Body)));
}
