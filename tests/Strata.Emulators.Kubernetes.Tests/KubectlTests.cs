using System.Text.Json.Nodes;

namespace Strata.Emulators.Kubernetes.Tests;

/// <summary>
/// Kubernetes' own client against the emulator: every kubectl command here must succeed (or fail) as it would against a
/// real API server, and the pods it starts really run in podman.
/// </summary>
[Collection(KubernetesEmulatorCollection.Name)]
public sealed class KubectlTests(KubernetesEmulatorFixture fixture)
{
    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("n")[..6]}";

    [Fact]
    public async Task Kubectl_version_reaches_the_server_over_https_with_the_generated_kubeconfig()
    {
        var (code, output) = await fixture.Kubectl("version");
        Assert.True(code == 0, output);
        Assert.Contains("Server Version: v1.26.0", output, StringComparison.Ordinal);

        var (denied, deniedOutput) = await fixture.Kubectl("get", "jobs", "--token", "not-the-token");
        Assert.NotEqual(0, denied);
        Assert.Contains("Unauthorized", deniedOutput, StringComparison.Ordinal);
        Assert.Contains(fixture.Emulator.Requests, r => r.Status == 401);
    }

    [Fact]
    public async Task A_failing_job_runs_for_real_its_logs_follow_its_status_fails_and_foreground_delete_removes_the_pod()
    {
        var name = NewName("hello");
        var (applied, applyOutput) = await fixture.Apply(fixture.Job(name, "echo hello from the pod; sleep 1; echo bye; exit 3"), "--validate=strict");
        Assert.True(applied == 0, applyOutput);
        Assert.Contains($"job.batch/{name} created", applyOutput, StringComparison.Ordinal);
        Assert.Contains(fixture.Emulator.Requests, r => r.Method == "POST" && r.Query.Contains("fieldValidation=Strict", StringComparison.Ordinal));

        await WaitForPodAsync(name, p => PodStatus(p) is "Running" or "Error");
        var (logsCode, logs) = await fixture.Kubectl("logs", "-f", $"job/{name}");
        Assert.True(logsCode == 0, logs);
        Assert.Contains("hello from the pod\nbye", logs, StringComparison.Ordinal);

        var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=failed", $"job/{name}", "--timeout=60s");
        Assert.True(waited == 0, waitOutput);
        var (_, exitCode) = await fixture.Kubectl("get", "pods", "-l", $"job-name={name}", "-o", "jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}");
        Assert.Equal("3", exitCode.Trim());
        var (_, reason) = await fixture.Kubectl("get", "job", name, "-o", "jsonpath={.status.conditions[?(@.type==\"Failed\")].reason}");
        Assert.Equal("BackoffLimitExceeded", reason.Trim());

        var (got, table) = await fixture.Kubectl("get", "jobs,pods", "-l", $"job-name={name}");
        Assert.True(got == 0, table);
        Assert.Matches($"job.batch/{name} +Failed +0/1", table);
        Assert.Matches($"pod/{name}-[a-z0-9]{{5}} +0/1 +Error", table);

        var podName = fixture.Emulator.RunningPodmanPods.Single(p => p.StartsWith(name + "-", StringComparison.Ordinal));
        var (deleted, deleteOutput) = await fixture.Kubectl("delete", "job", name, "--cascade=foreground");
        Assert.True(deleted == 0, deleteOutput);
        Assert.Contains($"job.batch \"{name}\" deleted", deleteOutput, StringComparison.Ordinal);
        Assert.Contains(fixture.Emulator.Requests, r => r.Method == "DELETE" && r.Body.Contains("\"Foreground\"", StringComparison.Ordinal));
        Assert.Null(fixture.Emulator.Get("jobs", "default", name));
        Assert.Null(fixture.Emulator.Get("pods", "default", podName));
        var (_, podmanPods) = await LocalServers.RunAsync("podman", ["pod", "ls", "--format", "{{.Name}}"], fixture.PodmanEnvironment);
        Assert.DoesNotContain(podName, podmanPods, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_field_is_refused_by_strict_validation_and_only_warned_about_with_validate_warn()
    {
        var name = NewName("typo");
        var yaml = fixture.Job(name, "true", containerExtra: "        imagePullPolicyy: Never");
        var (code, output) = await fixture.Apply(yaml, "--validate=strict");
        Assert.NotEqual(0, code);
        Assert.Contains("strict decoding error: unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"", output, StringComparison.Ordinal);
        Assert.Null(fixture.Emulator.Get("jobs", "default", name));

        var (warned, warnOutput) = await fixture.Apply(yaml, "--validate=warn");
        Assert.True(warned == 0, warnOutput);
        Assert.Contains("Warning: unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"", warnOutput, StringComparison.Ordinal);
        await fixture.Kubectl("delete", "job", name, "--cascade=foreground");
    }

    [Fact]
    public async Task A_missing_required_field_is_invalid_with_its_cause_and_a_second_create_already_exists()
    {
        var name = NewName("invalid");
        var yaml = fixture.Job(name, "true").Replace("- name: main\n        image:", "- image:", StringComparison.Ordinal);
        var (code, output) = await fixture.Apply(yaml, "--validate=strict");
        Assert.NotEqual(0, code);
        Assert.Contains($"The Job \"{name}\" is invalid: spec.template.spec.containers[0].name: Required value", output, StringComparison.Ordinal);
        Assert.Contains(fixture.Emulator.Requests, r => r.Status == 422 && r.Reason == "Invalid");

        var ok = NewName("twice");
        var (created, createOutput) = await fixture.Create(fixture.Job(ok, "true"));
        Assert.True(created == 0, createOutput);
        var (again, againOutput) = await fixture.Create(fixture.Job(ok, "true"));
        Assert.NotEqual(0, again);
        Assert.Contains($"Error from server (AlreadyExists): error when creating", againOutput, StringComparison.Ordinal);
        Assert.Contains($"jobs.batch \"{ok}\" already exists", againOutput, StringComparison.Ordinal);
        var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=complete", $"job/{ok}", "--timeout=60s");
        Assert.True(waited == 0, waitOutput);
        await fixture.Kubectl("delete", "job", ok);
    }

    [Fact]
    public async Task A_pod_asking_for_more_gpus_than_the_node_has_stays_pending_unschedulable()
    {
        var name = NewName("gpu");
        var (code, output) = await fixture.Apply(fixture.Job(name, "nvidia-smi", containerExtra: """
                    resources:
                      limits:
                        nvidia.com/gpu: 1
            """), "--validate=strict");
        Assert.True(code == 0, output);
        var pod = await WaitForPodAsync(name, p => p["status"]?["conditions"] is JsonArray c && c.Any(x => (string?)x?["reason"] == "Unschedulable"));
        var condition = ((JsonArray)pod["status"]!["conditions"]!).Single(x => (string?)x?["type"] == "PodScheduled")!;
        Assert.Equal("False", (string?)condition["status"]);
        Assert.StartsWith("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.", (string?)condition["message"], StringComparison.Ordinal);
        await Task.Delay(1500);
        var (_, table) = await fixture.Kubectl("get", "pods", "-l", $"job-name={name}");
        Assert.Matches($"{name}-[a-z0-9]{{5}} +0/1 +Pending", table);
        var (deleted, deleteOutput) = await fixture.Kubectl("delete", "job", name);
        Assert.True(deleted == 0, deleteOutput);
    }

    [Fact]
    public async Task A_secret_referenced_by_secretKeyRef_reaches_the_containers_environment_and_never_the_job()
    {
        var secret = NewName("creds");
        var value = "s3cr3t-" + Guid.NewGuid().ToString("n")[..8];
        var (created, createOutput) = await fixture.Kubectl("create", "secret", "generic", secret, $"--from-literal=token={value}");
        Assert.True(created == 0, createOutput);
        Assert.Contains($"secret/{secret} created", createOutput, StringComparison.Ordinal);

        var name = NewName("secret");
        var (code, output) = await fixture.Apply(fixture.Job(name, "echo token=$TOKEN", containerExtra: $"""
                    env:
                    - name: TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: {secret}
                          key: token
            """), "--validate=strict");
        Assert.True(code == 0, output);
        var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=complete", $"job/{name}", "--timeout=60s");
        Assert.True(waited == 0, waitOutput);
        var (_, logs) = await fixture.Kubectl("logs", $"job/{name}");
        Assert.Contains($"token={value}", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Emulator.Requests, r => r.Path.Contains("/jobs", StringComparison.Ordinal) && r.Body.Contains(value, StringComparison.Ordinal));

        await fixture.Kubectl("delete", "job", name);
        var (deleted, deleteOutput) = await fixture.Kubectl("delete", "secret", secret);
        Assert.True(deleted == 0, deleteOutput);
        var (_, gone) = await fixture.Kubectl("get", "secret", secret);
        Assert.Contains($"Error from server (NotFound): secrets \"{secret}\" not found", gone, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_gives_ErrImagePull_then_ImagePullBackOff()
    {
        var name = NewName("badimage");
        var yaml = fixture.Job(name, "true").Replace(fixture.Image, "localhost:5000/strata/no-such-image:1", StringComparison.Ordinal);
        var (code, output) = await fixture.Apply(yaml, "--validate=strict");
        Assert.True(code == 0, output);
        var seen = new HashSet<string>();
        await WaitForPodAsync(name, p =>
        {
            if ((string?)p["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"] is { } r) seen.Add(r);
            return seen.Contains("ImagePullBackOff");
        });
        Assert.Contains("ErrImagePull", seen);
        var (_, table) = await fixture.Kubectl("get", "pods", "-l", $"job-name={name}");
        Assert.Matches("(ImagePullBackOff|ErrImagePull)", table);
        await fixture.Kubectl("delete", "job", name, "--cascade=foreground");
    }

    [Fact]
    public async Task Throttled_requests_carry_Retry_After_and_kubectl_retries_them()
    {
        fixture.Emulator.Options.ThrottleRate = 0.5;
        try
        {
            // The dice decide which requests are throttled: go on until one was, every command still succeeding.
            for (var i = 0; i < 20 && !fixture.Emulator.Requests.Any(r => r.Status == 429); i++)
            {
                var (code, output) = await fixture.Kubectl("get", "jobs", "-l", "none=here");
                Assert.True(code == 0, output);
            }
        }
        finally
        {
            fixture.Emulator.Options.ThrottleRate = 0;
        }
        Assert.Contains(fixture.Emulator.Requests, r => r.Status == 429 && r.Reason == "TooManyRequests");
    }

    [Fact]
    public async Task Faults_in_a_row_stop_at_the_limit_so_a_retrying_client_gets_through()
    {
        var before = fixture.Emulator.Requests.Count;
        fixture.Emulator.Options.ThrottleRate = 1;
        fixture.Emulator.Options.MaxFaultsInARow = 2;
        try
        {
            var (code, output) = await fixture.Kubectl("get", "jobs", "-n", "kube-public");
            Assert.True(code == 0, output);
        }
        finally
        {
            fixture.Emulator.Options.ThrottleRate = 0;
            fixture.Emulator.Options.MaxFaultsInARow = null;
        }
        var list = fixture.Emulator.Requests.Skip(before).Where(r => r.Path == "/apis/batch/v1/namespaces/kube-public/jobs").Select(r => r.Status);
        Assert.Equal([429, 429, 200], list);
    }

    [Fact]
    public async Task Kubectl_explain_reads_kubernetes_own_openapi_documents_from_the_emulator()
    {
        var (code, output) = await fixture.Kubectl("explain", "job.spec.backoffLimit");
        Assert.True(code == 0, output);
        Assert.Contains("Specifies the number of retries before marking this job failed", output, StringComparison.Ordinal);
        Assert.Contains(fixture.Emulator.Requests, r => r.Path == "/openapi/v3/apis/batch/v1" && r.Status == 200);
    }

    [Fact]
    public async Task A_dropped_watch_is_survived_by_kubectl_wait_which_watches_again()
    {
        var name = NewName("watchdrop");
        var (code, output) = await fixture.Apply(fixture.Job(name, "sleep 3; echo done"), "--validate=strict");
        Assert.True(code == 0, output);
        fixture.Emulator.Options.DropWatchesAfter = TimeSpan.FromSeconds(1);
        try
        {
            var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=complete", $"job/{name}", "--timeout=60s");
            Assert.True(waited == 0, waitOutput);
        }
        finally
        {
            fixture.Emulator.Options.DropWatchesAfter = null;
        }
        var watches = fixture.Emulator.Requests.Count(r => r.Query.Contains("watch=true", StringComparison.Ordinal) && r.Query.Contains(name, StringComparison.Ordinal));
        Assert.True(watches >= 2, $"kubectl watched {watches} time(s)");
        await fixture.Kubectl("delete", "job", name);
    }

    [Fact]
    public async Task A_dropped_log_stream_ends_the_follow_early()
    {
        var name = NewName("logdrop");
        var (code, output) = await fixture.Apply(fixture.Job(name, "echo one; sleep 2; echo two; echo three"), "--validate=strict");
        Assert.True(code == 0, output);
        await WaitForPodAsync(name, p => PodStatus(p) is "Running" or "Error");
        fixture.Emulator.Options.DropLogStreamsAfterLines = 1;
        string logs;
        try
        {
            (_, logs) = await fixture.Kubectl("logs", "-f", $"job/{name}");
        }
        finally
        {
            fixture.Emulator.Options.DropLogStreamsAfterLines = null;
        }
        Assert.Contains("one", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("three", logs, StringComparison.Ordinal);
        var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=complete", $"job/{name}", "--timeout=60s");
        Assert.True(waited == 0, waitOutput);
        var (_, all) = await fixture.Kubectl("logs", $"job/{name}");
        Assert.Contains("one\ntwo\nthree", all, StringComparison.Ordinal);
        await fixture.Kubectl("delete", "job", name);
    }

    [Fact]
    public async Task Label_patches_a_job_its_template_is_immutable_and_what_the_emulator_serves_fits_the_schema()
    {
        var name = NewName("patch");
        var (code, output) = await fixture.Apply(fixture.Job(name, "echo patched"), "--validate=strict");
        Assert.True(code == 0, output);
        var (labelled, labelOutput) = await fixture.Kubectl("label", "job", name, "team=ml");
        Assert.True(labelled == 0, labelOutput);
        var (_, team) = await fixture.Kubectl("get", "job", name, "-o", "jsonpath={.metadata.labels.team}");
        Assert.Equal("ml", team.Trim());
        var (patched, patchOutput) = await fixture.Kubectl("patch", "job", name, "--type=merge", "-p", "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\"}}}}");
        Assert.NotEqual(0, patched);
        Assert.Contains($"The Job \"{name}\" is invalid: spec.template: Invalid value: field is immutable", patchOutput, StringComparison.Ordinal);

        var (waited, waitOutput) = await fixture.Kubectl("wait", "--for=condition=complete", $"job/{name}", "--timeout=60s");
        Assert.True(waited == 0, waitOutput);
        foreach (var (resource, schema) in new[] { ("job", "io.k8s.api.batch.v1.Job"), ("pods", "io.k8s.api.core.v1.Pod") })
        {
            var (_, json) = await fixture.Kubectl("get", resource, resource == "job" ? name : $"-l=job-name={name}", "-o", "json");
            var node = JsonNode.Parse(json)!;
            foreach (var item in node["items"] is JsonArray items ? items.ToList() : [node])
            {
                var findings = fixture.Emulator.Schemas.Check(schema, item);
                Assert.True(findings.UnknownFields.Count + findings.TypeErrors.Count + findings.MissingRequired.Count == 0,
                    $"{resource}: {string.Join(", ", findings.UnknownFields.Concat(findings.TypeErrors).Concat(findings.MissingRequired))}");
            }
        }
        await fixture.Kubectl("delete", "job", name);
    }

    private static string PodStatus(JsonObject pod) =>
        (string?)pod["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"]
        ?? (pod["status"]?["containerStatuses"]?[0]?["state"]?["terminated"] is not null ? "Error" : (string?)pod["status"]?["phase"] ?? "");

    private async Task<JsonObject> WaitForPodAsync(string job, Func<JsonObject, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var (code, output) = await fixture.Kubectl("get", "pods", "-l", $"job-name={job}", "-o", "json");
            if (code == 0 && JsonNode.Parse(output)?["items"] is JsonArray { Count: > 0 } items && until((JsonObject)items[0]!))
                return (JsonObject)items[0]!;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the pod of job {job} did not get there: {output}");
            await Task.Delay(300);
        }
    }
}
