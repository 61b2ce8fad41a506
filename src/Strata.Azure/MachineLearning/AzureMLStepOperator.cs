using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Azure;
using Azure.Core.Pipeline;

namespace Strata.Azure.MachineLearning;

/// <summary>
/// Runs a step as an Azure ML command job: the step's image registered as an environment version (or a named environment),
/// <c>strata-step --manifest URI</c> as the command, on a compute target or serverless, the artifacts through the azure artifact
/// store (which the job reaches as its compute's managed identity). The job's name comes from the step-run id, so its PUT is
/// idempotent: a create whose answer was lost is sent again without starting a second job, and status, logs and cancel work
/// from another process after a restart. Its log is read from run history's <c>user_logs/</c> files as they grow.
/// </summary>
internal sealed class AzureMLStepOperator : StepOperator
{
    private readonly AzureMLStepOperatorConfig _config;
    private readonly TimeProvider _time;
    private readonly Lazy<AzureMLClient> _client;
    private readonly ConcurrentDictionary<string, Task<string>> _lookups = new(StringComparer.Ordinal);
    private readonly RecentAnswers<JsonObject> _latest;

    public AzureMLStepOperator(AzureMLStepOperatorConfig config, TimeProvider? time = null, HttpPipelineTransport? transport = null)
    {
        _config = config;
        _time = time ?? TimeProvider.System;
        _latest = new RecentAnswers<JsonObject>(_time);
        if (config.MaxRetries is < 0 or > 20) throw new StrataConfigException($"max_retries must be between 0 and 20; it is {config.MaxRetries}.");
        // Credentials are looked up on first use, so that planning a run (or listing a stack) does not need them.
        _client = new Lazy<AzureMLClient>(() => new AzureMLClient(config, transport));
    }

    private AzureMLClient Client => _client.Value;

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var plan = CommandJobSpec.Build(launch, _config);
        var properties = (JsonObject)plan.Job["properties"]!;
        try
        {
            properties["environmentId"] = await EnvironmentIdAsync(plan.Environment, cancellationToken).ConfigureAwait(false);
            if ((string?)properties["computeId"] is { } compute)
            {
                properties["computeId"] = await OnceAsync($"compute {compute}", () => ComputeIdAsync(compute), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (RequestFailedException e) when (!IsTransient(e))
        {
            throw Refused(e, $"the environment or compute of step '{launch.StepName}'");
        }

        var submittedAt = _time.GetUtcNow();
        JsonObject job;
        try
        {
            job = await Client.PutJobAsync(plan.Name, plan.Job, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // The job exists with another body (the step was submitted before, from another process): it is this step run's job.
            job = await Client.GetJobAsync(plan.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (!IsTransient(e))
        {
            throw Refused(e, $"job {plan.Name} for step '{launch.StepName}'");
        }
        var data = new Dictionary<string, string>
        {
            ["job_name"] = plan.Name,
            ["compute"] = plan.Compute,
            ["environment"] = (string)properties["environmentId"]!,
            ["experiment"] = (string?)properties["experimentName"] ?? "",
            ["submitted_at"] = submittedAt.ToString("O", CultureInfo.InvariantCulture),
        };
        if ((string?)job["properties"]?["services"]?["Studio"]?["endpoint"] is { Length: > 0 } studio) data["studio"] = studio;
        if (plan.WithheldSecrets.Count > 0) data["withheld_secrets"] = string.Join(',', plan.WithheldSecrets);
        return new StepJob(Name, plan.Name, launch.StepRunId, data);
    }

    /// <summary>The environment version's resource id: the step's image registered (once per image), or the named environment's.</summary>
    private Task<string> EnvironmentIdAsync(JobEnvironment environment, CancellationToken cancellationToken)
    {
        var name = environment.Name;
        if (environment.Image is { } image)
            return OnceAsync($"environment {name}:{environment.Version}", async () =>
            {
                var body = CommandJobSpec.EnvironmentVersion(image);
                await Client.PutEnvironmentVersionAsync(name, environment.Version!, body, CancellationToken.None).ConfigureAwait(false);
                return Client.EnvironmentId(name, environment.Version!);
            }, cancellationToken);
        if (environment.Version is { } version) return Task.FromResult(Client.EnvironmentId(name, version));
        return OnceAsync($"environment {name}", async () =>
        {
            JsonObject container;
            try
            {
                container = await Client.GetEnvironmentAsync(name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new StrataConfigException($"environment_name '{name}' is not an environment of Azure ML workspace {_config.WorkspaceName}; " +
                    "register it (az ml environment create), or leave environment_name unset to have the step's image registered.", e);
            }
            return (string?)container["properties"]?["latestVersion"] is { Length: > 0 } latest
                ? Client.EnvironmentId(name, latest)
                : throw new StrataConfigException($"environment '{name}' of Azure ML workspace {_config.WorkspaceName} has no version yet.");
        }, cancellationToken);
    }

    /// <summary>
    /// A lookup's answer (an environment, a compute, run history's endpoint), asked once and shared by every step; a failed
    /// lookup is forgotten, so that the next step asks again.
    /// </summary>
    private Task<string> OnceAsync(string key, Func<Task<string>> lookUp, CancellationToken cancellationToken)
    {
        var answer = _lookups.GetOrAdd(key, k =>
        {
            var started = lookUp();
            started.ContinueWith(t => _lookups.TryRemove(new KeyValuePair<string, Task<string>>(k, t)), CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return started;
        });
        return answer.WaitAsync(cancellationToken);
    }

    /// <summary>The compute's resource id, once Azure ML has said the workspace has it.</summary>
    private async Task<string> ComputeIdAsync(string compute)
    {
        try
        {
            await Client.GetComputeAsync(compute, CancellationToken.None).ConfigureAwait(false);
            return Client.ComputeId(compute);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            var known = await Client.ListComputeNamesAsync(CancellationToken.None).ConfigureAwait(false);
            throw new StrataConfigException($"compute_target_name '{compute}' is not a compute of Azure ML workspace {_config.WorkspaceName}; " +
                (known.Count == 0 ? "it has none: create a compute cluster, or use mode serverless with an instance_type."
                    : $"it has {string.Join(", ", known)}."), e);
        }
    }

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        JsonObject described;
        try
        {
            described = await GetAsync(job.JobId, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return new StepJobStatus(StepJobState.Failed, $"Azure ML job {job.JobId} does not exist in workspace {_config.WorkspaceName}");
        }
        var status = (string?)described["properties"]?["status"];
        var detail = status is "Failed" or "NotResponding" or "Queued" or "NotStarted"
            ? await DetailAsync(job.JobId, status, cancellationToken).ConfigureAwait(false)
            : null;
        return AzureMLJobStates.ToStatus(status, job.Data.GetValueOrDefault("compute") ?? "the job's compute", detail);
    }

    /// <summary>
    /// What run history says that ARM's job resource does not: a failed job's error, or the scheduler's message about a
    /// waiting one; null when there is none or it cannot be read.
    /// </summary>
    private async Task<string?> DetailAsync(string job, string status, CancellationToken cancellationToken)
    {
        try
        {
            var details = await Client.GetRunDetailsAsync(await HistoryAsync(cancellationToken).ConfigureAwait(false), job, cancellationToken)
                .ConfigureAwait(false);
            if (status is "Queued" or "NotStarted")
                return (details["warnings"] as JsonArray ?? []).Select(w => (string?)w?["message"]).LastOrDefault(m => !string.IsNullOrWhiteSpace(m));
            var error = details["error"]?["error"] ?? details["error"];
            return (string?)error?["message"] is { Length: > 0 } message
                ? (string?)error?["code"] is { Length: > 0 } code ? $"{code}: {message}" : message
                : null;
        }
        catch (Exception e) when (e is RequestFailedException or StrataConfigException or HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Asks Azure ML to cancel the job (it goes CancelRequested, then Canceled); the follower waits for Canceled.</summary>
    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        _latest.Forget(job.JobId);
        try
        {
            await Client.CancelJobAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 409 or 400)
        {
            // The job already ended, or never existed: there is nothing to cancel.
        }
    }

    public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        // Azure ML keeps ended jobs for their history; only forget what was cached about this one.
        _latest.Forget(job.JobId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The job's status changes (<c>[azureml] Queued: ...</c>) and its output, read from run history's <c>user_logs/</c> files as
    /// they grow, until the job has ended and its files are read to the end.
    /// </summary>
    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return $"[azureml] job {job.JobId} on {job.Data.GetValueOrDefault("compute") ?? "?"} in workspace {_config.WorkspaceName}" +
            (job.Data.TryGetValue("studio", out var studio) ? $": {studio}" : "");
        if (job.Data.TryGetValue("withheld_secrets", out var withheld))
            yield return $"[azureml] warning: the step's secrets ({withheld}) were not sent: Azure ML studio shows a job's environment variables to anyone " +
                "who can read the job. The job runs as its compute's managed identity; give that identity what the step needs, or read the values in " +
                "the step from Key Vault.";
        var follower = new LogFollower(this, job);
        await foreach (var line in PolledJobLog.FollowAsync(follower.PollAsync, e => e is RequestFailedException or HttpRequestException, "[azureml]",
            _time, cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>The job, or its answer from less than <paramref name="maxAge"/> ago (status polls and the log stream share it).</summary>
    private Task<JsonObject> GetAsync(string name, TimeSpan maxAge, CancellationToken cancellationToken) =>
        _latest.GetAsync(name, maxAge, c => Client.GetJobAsync(name, c), cancellationToken);

    /// <summary>Run history's endpoint, from the document at the workspace's <c>discoveryUrl</c> (looked up once).</summary>
    private async Task<Uri> HistoryAsync(CancellationToken cancellationToken) =>
        new(await OnceAsync("history", LookUpHistoryAsync, cancellationToken).ConfigureAwait(false));

    private async Task<string> LookUpHistoryAsync()
    {
        var workspace = await Client.GetWorkspaceAsync(CancellationToken.None).ConfigureAwait(false);
        if ((string?)workspace["properties"]?["discoveryUrl"] is not { } discovery || !Uri.TryCreate(discovery, UriKind.Absolute, out var url))
            throw new StrataConfigException($"Azure ML workspace {_config.WorkspaceName} names no discoveryUrl, so its run history cannot be found.");
        var endpoints = await Client.GetDiscoveryAsync(url, CancellationToken.None).ConfigureAwait(false);
        return (string?)endpoints["history"] is { } h && Uri.TryCreate(h.TrimEnd('/') + "/", UriKind.Absolute, out var history)
            ? history.AbsoluteUri
            : throw new StrataConfigException($"Azure ML workspace {_config.WorkspaceName}'s discovery document names no history endpoint.");
    }

    private StrataConfigException Refused(RequestFailedException e, string what) =>
        new($"Azure ML refused {what}: {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}{Hint(e)}", e);

    private string Hint(RequestFailedException e) => e.Status switch
    {
        401 => " (the operator's credential was refused: check tenant_id, service_principal_id and service_principal_password, or the Azure CLI login)",
        403 => " (the operator's identity needs a role on the workspace such as AzureML Data Scientist)",
        404 => $" (check subscription_id, resource_group and workspace_name: workspace {_config.WorkspaceName})",
        400 => " (check the step operator's config and the step's settings)",
        _ => "",
    };

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private static bool IsTransient(RequestFailedException e) => e.Status is 0 or 408 or 429 or >= 500;

    /// <summary>Follows one job: its status changes, and the new bytes of its user log files.</summary>
    private sealed class LogFollower(AzureMLStepOperator op, StepJob job)
    {
        private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _partial = new(StringComparer.Ordinal);
        private string? _lastStatus;
        private int _readsAfterEnd;

        public async Task<(IReadOnlyList<string> Lines, bool Finished)> PollAsync(TimeSpan interval, CancellationToken cancellationToken)
        {
            var described = await op.GetAsync(job.JobId, interval, cancellationToken).ConfigureAwait(false);
            var status = (string?)described["properties"]?["status"];
            var ended = AzureMLJobStates.IsEnded(status);
            var lines = new List<string>();
            if (status != _lastStatus && !ended)
            {
                _lastStatus = status;
                lines.Add($"[azureml] {AzureMLJobStates.ToStatus(status, job.Data.GetValueOrDefault("compute") ?? "the compute").Reason ?? status}");
            }
            var read = await ReadAsync(ended, lines, cancellationToken).ConfigureAwait(false);
            if (ended && status != _lastStatus)
            {
                _lastStatus = status;
                lines.Add($"[azureml] {status}");
            }
            // The last bytes reach run history a moment after the job ends: after the end, read until a poll finds nothing new.
            if (ended && read == 0) _readsAfterEnd++;
            return (lines, ended && _readsAfterEnd >= 2);
        }

        private async Task<long> ReadAsync(bool ended, List<string> lines, CancellationToken cancellationToken)
        {
            var details = await op.Client.GetRunDetailsAsync(await op.HistoryAsync(cancellationToken).ConfigureAwait(false), job.JobId, cancellationToken)
                .ConfigureAwait(false);
            var files = (details["logFiles"] as JsonObject ?? [])
                .Where(f => f.Key.StartsWith("user_logs/", StringComparison.Ordinal) && f.Value is JsonValue)
                .OrderBy(f => f.Key, StringComparer.Ordinal)
                .ToArray();
            long read = 0;
            foreach (var (name, url) in files)
            {
                if (!Uri.TryCreate((string?)url, UriKind.Absolute, out var uri)) continue;
                var offset = _offsets.GetValueOrDefault(name);
                var bytes = await op.Client.ReadLogAsync(uri, offset, cancellationToken).ConfigureAwait(false);
                _offsets[name] = offset + bytes.Length;
                read += bytes.Length;
                var text = _partial.GetValueOrDefault(name, "") + Encoding.UTF8.GetString(bytes);
                var parts = text.Split('\n');
                _partial[name] = parts[^1];
                var prefix = files.Length > 1 && name != "user_logs/std_log.txt" ? $"[{name["user_logs/".Length..]}] " : "";
                lines.AddRange(parts[..^1].Select(l => prefix + l.TrimEnd('\r')));
                if (ended && _readsAfterEnd >= 1 && _partial[name].Length > 0)
                {
                    lines.Add(prefix + _partial[name]);
                    _partial[name] = "";
                }
            }
            return read;
        }
    }
}
