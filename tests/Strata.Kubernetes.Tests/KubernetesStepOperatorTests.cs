namespace Strata.Kubernetes.Tests;

/// <summary>
/// The operator on its own against the emulator, with plain bash jobs in the test image: what the conformance suite does not reach
/// (a dropped log stream, an image that cannot be pulled, throttling, where secrets travel, kubeconfig mistakes).
/// </summary>
[Collection(KubernetesEmulatorCollection.Name)]
public sealed class KubernetesStepOperatorTests(KubernetesEmulatorFixture cluster)
{
    private KubernetesStepOperatorConfig Config(Action<KubernetesStepOperatorConfig>? change = null)
    {
        var config = new KubernetesStepOperatorConfig { Kubeconfig = cluster.Emulator.KubeconfigPath, Image = cluster.Image };
        change?.Invoke(config);
        return config;
    }

    private static StepLaunch Bash(string script, KubernetesStepOperatorSettings settings, string image, Dictionary<string, string>? secrets = null)
    {
        var id = $"01KTEST{Guid.NewGuid():N}".ToUpperInvariant();
        return new StepLaunch
        {
            Pipeline = "k8s-tests",
            RunId = id,
            RunName = "k8s-tests-run",
            StepName = "bash",
            StepRunId = id,
            Command = ["bash", "-c", script],
            Environment = new Dictionary<string, string> { ["GREETING"] = "hello" },
            Secrets = secrets ?? [],
            Settings = settings,
            Image = image,
            ManifestUri = "file:///nowhere.json",
        };
    }

    /// <summary>Submits, follows the log to its end, reads the final status and cleans up, as the orchestrator does.</summary>
    private static async Task<(StepJob Job, StepJobStatus Status, List<string> Log)> RunAsync(StepOperator op, StepLaunch launch)
    {
        var job = await op.SubmitAsync(launch);
        var log = new List<string>();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await foreach (var line in op.StreamLogsAsync(job, patience.Token)) log.Add(line);
        var status = await op.GetStatusAsync(job);
        for (var i = 0; i < 100 && !status.IsFinished; i++)
        {
            await Task.Delay(200);
            status = await op.GetStatusAsync(job);
        }
        await op.CleanupAsync(job);
        return (job, status, log);
    }

    [Fact]
    public async Task A_dropped_log_stream_is_opened_again_and_no_line_is_lost_or_repeated()
    {
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);
        cluster.Emulator.Options.DropLogStreamsAfterLines = 7;
        try
        {
            var (job, status, log) = await RunAsync(op, Bash("for i in $(seq 1 40); do echo line $i; sleep 0.05; done", config, cluster.Image));

            Assert.Equal(StepJobState.Succeeded, status.State);
            Assert.Equal(Enumerable.Range(1, 40).Select(i => $"line {i}"), log.Where(l => l.StartsWith("line ", StringComparison.Ordinal)));
            Assert.True(cluster.Emulator.Requests.Count(r => r.Path.EndsWith("/log", StringComparison.Ordinal) && r.Path.Contains(job.JobId, StringComparison.Ordinal)) > 2,
                "the stream was cut every 7 lines, so it was opened several times");
        }
        finally
        {
            cluster.Emulator.Options.DropLogStreamsAfterLines = null;
        }
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_fails_the_step_with_the_kubelets_reason_and_leaves_no_job()
    {
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);
        var missing = $"{cluster.Image.Split('/')[0]}/strata/no-such-image:1";

        var launch = Bash("echo never", config, missing);
        var status = await op.LaunchAsync(launch);

        Assert.Equal(StepJobState.Failed, status.State);
        Assert.Matches("ErrImagePull|ImagePullBackOff", status.Reason);
        Assert.Contains("no-such-image", status.Reason, StringComparison.Ordinal);
        // The Job never finished, so cleanup deleted it (with its pod).
        var name = StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName);
        Assert.Contains(cluster.Emulator.Requests, r => r.Method == "DELETE" && r.Path.EndsWith($"/jobs/{name}", StringComparison.Ordinal));
        Assert.Null(cluster.Emulator.Get("jobs", "default", name));
    }

    [Fact]
    public async Task A_secret_reaches_the_step_through_a_secret_of_its_own_that_cleanup_deletes_and_no_job_or_pod_body_holds_it()
    {
        const string value = "tok-7f3a9c1e55b2";
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);

        var (job, status, log) = await RunAsync(op, Bash("echo length ${#API_TOKEN} head ${API_TOKEN:0:4} $GREETING", config, cluster.Image,
            new Dictionary<string, string> { ["API_TOKEN"] = value }));

        Assert.Equal(StepJobState.Succeeded, status.State);
        Assert.Contains($"length {value.Length} head tok- hello", log);
        var secretName = job.Data["secret"];
        Assert.Contains(cluster.Emulator.Requests, r => r.Method == "POST" && r.Path.EndsWith("/secrets", StringComparison.Ordinal) && r.Status == 201);
        Assert.Null(cluster.Emulator.Get("secrets", "default", secretName));
        Assert.DoesNotContain(cluster.Emulator.Requests,
            r => !r.Path.Contains("/secrets", StringComparison.Ordinal) && r.Body.Contains(value, StringComparison.Ordinal));
        Assert.DoesNotContain(value, System.Text.Json.JsonSerializer.Serialize(job.Data), StringComparison.Ordinal);
        Assert.Contains("secretKeyRef", cluster.Emulator.Get("jobs", "default", job.JobId)!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttled_and_failed_api_calls_are_retried_and_the_step_still_succeeds()
    {
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);
        var before = cluster.Emulator.Requests.Count;
        cluster.Emulator.Options.ThrottleRate = 0.3;
        cluster.Emulator.Options.ServerErrorRate = 0.1;
        cluster.Emulator.Options.MaxFaultsInARow = 3; // the operator retries a call 6 times
        try
        {
            var (_, status, log) = await RunAsync(op, Bash("echo done under load", config, cluster.Image));

            Assert.Equal(StepJobState.Succeeded, status.State);
            Assert.Contains("done under load", log);
            var answered = cluster.Emulator.Requests.Skip(before).ToList();
            Assert.Contains(answered, r => r.Status == 429);
        }
        finally
        {
            cluster.Emulator.Options.ThrottleRate = 0;
            cluster.Emulator.Options.ServerErrorRate = 0;
            cluster.Emulator.Options.MaxFaultsInARow = null;
        }
    }

    [Fact]
    public async Task A_failing_command_reports_its_exit_code_and_the_jobs_reason()
    {
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);

        var (_, status, log) = await RunAsync(op, Bash("echo about to fail; exit 3", config, cluster.Image));

        Assert.Equal(StepJobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        Assert.Contains("exit code 3", status.Reason, StringComparison.Ordinal);
        Assert.Contains("about to fail", log);
    }

    [Fact]
    public async Task Between_status_polls_the_operator_watches_the_jobs_pods_instead_of_waiting_out_the_delay()
    {
        var config = Config();
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);
        var launch = Bash("sleep 3; echo done", config, cluster.Image);

        var status = await op.LaunchAsync(launch);

        Assert.Equal(StepJobState.Succeeded, status.State);
        var name = StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName);
        Assert.Contains(cluster.Emulator.Requests, r => r.Path == "/api/v1/namespaces/default/pods" && r.Query.Contains("watch=true", StringComparison.Ordinal)
            && r.Query.Contains("resourceVersion=", StringComparison.Ordinal) && Uri.UnescapeDataString(r.Query).Contains($"job-name={name}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_context_the_kubeconfig_lacks_is_refused_listing_the_ones_it_has()
    {
        var config = Config(c => c.KubernetesContext = "prod");
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => op.SubmitAsync(Bash("true", config, cluster.Image)));
        Assert.Contains("has no context 'prod'; it has strata-emulator", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_kubeconfig_is_refused_naming_it()
    {
        var config = Config(c => c.Kubeconfig = "/nonexistent/kubeconfig");
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => op.SubmitAsync(Bash("true", config, cluster.Image)));
        Assert.Contains("kubeconfig /nonexistent/kubeconfig does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_the_api_server_refuses_fails_the_submit_with_its_causes()
    {
        var config = Config(c => c.PodSettings = """{"resources":{"requests":{"cpu":"4"},"limits":{"cpu":"2"}}}""");
        await using var op = new KubernetesStepOperator(config, TimeProvider.System);

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => op.SubmitAsync(Bash("true", config, cluster.Image)));
        Assert.Contains("refused Job", e.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid", e.Message, StringComparison.Ordinal);
        Assert.Contains("must be less than or equal to cpu limit", e.Message, StringComparison.Ordinal);
    }
}
