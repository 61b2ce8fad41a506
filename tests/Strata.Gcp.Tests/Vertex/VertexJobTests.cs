using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Strata.Emulators.Gcp;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>What only the vertex operator does: the custom job it sends, its states in the step log, throttling, a lost answer, secrets, keys.</summary>
public sealed class VertexJobTests : IAsyncDisposable
{
    private VertexStack? _stack;
    private StrataClient? _client;

    private VertexStack Stack => _stack!;

    private async Task<StrataClient> StartAsync(Action<VertexEmulatorOptions>? configure = null, Action<Dictionary<string, string>>? config = null)
    {
        _stack = await VertexStack.StartAsync(configure);
        _client = await StrataClient.OpenAsync(new StrataHome(Path.Combine(Stack.Directory, "home")), new FlavorRegistry().AddGcp());
        await _client.Stacks.EnsureDefaultStackAsync();
        await _client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "lake", "gcs", Stack.StoreConfig());
        var operatorConfig = Stack.OperatorConfig();
        config?.Invoke(operatorConfig);
        await _client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, VertexSteps.Operator, "vertex", operatorConfig);
        await _client.Stacks.RegisterStackAsync("gcp", "default", "lake", [VertexSteps.Operator]);
        await _client.Stacks.SetActiveStackAsync("gcp");
        return _client;
    }

    private Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline) =>
        _client!.RunAsync(pipeline, new RunOptions { NoCache = true, Observer = RunObservers.None });

    public async ValueTask DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        if (_stack is not null) await _stack.DisposeAsync();
    }

    [Fact]
    public async Task A_step_runs_as_a_custom_job_with_artifacts_labels_states_and_logs()
    {
        var client = await StartAsync();

        var result = await RunAsync(p => p.Step(VertexSteps.Sum, p.Step(VertexSteps.Square, p.Step(VertexSteps.MakeNumbers, 4))));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal(1 + 4 + 9 + 16, await result.LoadAsync<int>("sum"));
        var job = Assert.Single(Stack.CreatedJobs());
        var square = result["square"];
        Assert.Equal(StepJobNames.For(square.StepRunId!, "pipeline", "square", 128), (string)job["displayName"]!);
        Assert.Equal(CustomJobSpecLabel(square.StepRunId!), (string)job["labels"]!["strata-step-run"]!);
        var pool = job["jobSpec"]!["workerPoolSpecs"]![0]!;
        Assert.Equal("n1-standard-4", (string)pool["machineSpec"]!["machineType"]!);
        Assert.Equal("1", (string)pool["replicaCount"]!); // int64 as a string, as proto3 JSON has it
        var container = pool["containerSpec"]!;
        Assert.Equal(VertexStack.Image, (string)container["imageUri"]!);
        Assert.Null(container["command"]); // the image's own entrypoint starts the app
        var args = container["args"]!.AsArray().Select(a => (string)a!).ToArray();
        Assert.Equal([StrataEntrypoint.Verb, "--manifest"], args[..2]);
        Assert.StartsWith(Stack.StorePath + "/", args[2]);
        var locator = container["env"]!.AsArray().Single(e => (string)e!["name"]! == ArtifactStoreLocator.EnvironmentVariable)!["value"]!;
        Assert.Contains("\"flavor\":\"gcs\"", (string)locator!);

        // Every Vertex AI and Logging call carried a token the emulator issued for the key's signed JWT.
        Assert.Contains(Stack.Emulator.Requests, r => r is { Operation: "oauth2.token", Status: 200 });
        Assert.DoesNotContain(Stack.Emulator.Requests, r => r.Status == 401);

        var log = await client.Store.GetStepLogAsync(square.StepRunId!);
        Assert.NotNull(log);
        var id = (string)((string)job["displayName"]!)!;
        Assert.Contains("squaring 4 numbers in custom job", log);
        Assert.Contains("[vertex] custom job", log);
        Assert.Contains("on n1-standard-4 in europe-west1", log);
        Assert.Contains("[vertex] JOB_STATE_RUNNING", log);
        Assert.Contains("[vertex] JOB_STATE_SUCCEEDED", log);
        Assert.True(log.IndexOf("squaring", StringComparison.Ordinal) > log.IndexOf("[vertex] JOB_STATE_RUNNING", StringComparison.Ordinal), id);
    }

    [Fact]
    public async Task A_secret_value_never_appears_in_any_request_the_emulator_received_nor_in_storage()
    {
        var client = await StartAsync();
        const string Secret = "hf_Z9xVertexNeverSeesThis42";
        await client.Secrets.CreateAsync("hf", new Dictionary<string, string> { ["hf_token"] = Secret });

        var result = await RunAsync(p => p.Step(VertexSteps.ReadSecret));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal("absent", await result.LoadAsync<string>("read_secret")); // withheld: the job runs as its service account
        Assert.NotEmpty(Stack.Emulator.RequestBodies);
        Assert.DoesNotContain(Stack.Emulator.RequestBodies, r => r.Body.Contains(Secret, StringComparison.Ordinal) || r.Path.Contains(Secret, StringComparison.Ordinal));
        foreach (var name in Stack.Emulator.Storage.ObjectNames(Stack.Bucket))
            Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(Stack.Emulator.Storage.ObjectContent(Stack.Bucket, name)!), StringComparison.Ordinal);
        var log = await client.Store.GetStepLogAsync(result["read_secret"].StepRunId!);
        Assert.Contains("secrets (HF_TOKEN) were not sent", log);
    }

    [Fact]
    public async Task Thirty_percent_throttled_requests_still_run_the_step()
    {
        await StartAsync(o =>
        {
            o.ThrottleRate = 0.3;
            o.RandomSeed = 7;
        });

        var result = await RunAsync(p => p.Step(VertexSteps.Sum, p.Step(VertexSteps.Square, p.Step(VertexSteps.MakeNumbers, 3))));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal(1 + 4 + 9, await result.LoadAsync<int>("sum"));
        Assert.Contains(Stack.Emulator.Requests, r => r.Status == 429 && r.Operation.StartsWith("aiplatform.", StringComparison.Ordinal));
        Assert.Single(Stack.Emulator.JobNames);
    }

    [Fact]
    public async Task A_create_whose_answer_is_lost_is_found_by_its_label_and_not_sent_twice()
    {
        await StartAsync(o => o.LoseNextResponse.Add("CreateCustomJob"));

        var result = await RunAsync(p => p.Step(VertexSteps.Sum, p.Step(VertexSteps.Square, p.Step(VertexSteps.MakeNumbers, 2))));

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Contains(Stack.Emulator.Requests, r => r is { Operation: "aiplatform.CreateCustomJob", Status: 503 });
        Assert.Single(Stack.Emulator.JobNames); // the job the lost answer was about, found by its strata-step-run label
    }

    [Fact]
    public async Task A_failing_step_fails_with_vertex_ais_error_and_its_output()
    {
        var client = await StartAsync();

        var result = await RunAsync(p => p.Step(VertexSteps.Explode, 3));

        var explode = result["explode"];
        Assert.Equal(ExecutionStatus.Failed, explode.Status);
        Assert.Contains("the loss went to NaN at epoch 3", explode.Error);
        var log = await client.Store.GetStepLogAsync(explode.StepRunId!);
        Assert.Contains("epoch 3: loss nan", log);
        Assert.Contains("[vertex] JOB_STATE_FAILED: The replica workerpool0-0 exited with a non-zero status", log);
    }

    [Fact]
    public async Task A_key_the_token_endpoint_did_not_issue_is_refused_with_a_config_error()
    {
        await StartAsync();
        var key = JsonNode.Parse(await File.ReadAllTextAsync(Stack.KeyFile))!.AsObject();
        using var other = RSA.Create(2048);
        key["private_key"] = other.ExportPkcs8PrivateKeyPem(); // same account and key id, another key: the signature cannot verify
        var forged = Path.Combine(Stack.Directory, "forged.json");
        await File.WriteAllTextAsync(forged, key.ToJsonString());
        await _client!.Stacks.UpdateComponentAsync(ComponentType.StepOperator, VertexSteps.Operator, new Dictionary<string, string> { ["service_account_path"] = forged });

        var result = await RunAsync(p => p.Step(VertexSteps.Square, p.Step(VertexSteps.MakeNumbers, 2)));

        Assert.Equal(ExecutionStatus.Failed, result["square"].Status);
        Assert.Contains("refused the vertex step operator's service-account key", result["square"].Error);
        Assert.Contains("Invalid JWT Signature", result["square"].Error);
        Assert.Empty(Stack.Emulator.JobNames);
        Assert.Contains(Stack.Emulator.Requests, r => r is { Operation: "oauth2.token", Status: 400 });
    }

    [Fact]
    public async Task A_stack_with_a_local_artifact_store_is_refused_naming_the_gcs_store()
    {
        var client = await StartAsync();
        await client.Stacks.RegisterStackAsync("local", "default", "default", [VertexSteps.Operator]);
        await client.Stacks.SetActiveStackAsync("local");

        var error = await Assert.ThrowsAnyAsync<StrataException>(() => RunAsync(p => p.Step(VertexSteps.Square, p.Step(VertexSteps.MakeNumbers, 2))));

        Assert.Contains("needs a gcs artifact store", error.Message);
        Assert.Empty(Stack.Emulator.JobNames);
    }

    private static string CustomJobSpecLabel(string stepRunId) => Gcp.Vertex.CustomJobSpec.LabelValue(stepRunId);
}
