using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Strata.Gcp.Vertex;

/// <summary>
/// Runs a step as a Vertex AI custom job: one worker pool runs the step's image with the manifest's URI, the artifacts travel
/// through the gcs artifact store, the job's states and Cloud Logging entries are followed, and the job is cancelled when the
/// step is cancelled or times out. The job carries the step-run id as a label, so a create whose answer was lost is found
/// again instead of started twice, and status, logs and cancel work from another process after a restart.
/// </summary>
internal sealed class VertexStepOperator : StepOperator
{
    private const int MaxCreateAttempts = 6;

    private readonly VertexStepOperatorConfig _config;
    private readonly TimeProvider _time;
    private readonly Lazy<VertexClient> _client;
    private readonly RecentAnswers<JsonObject> _latest;

    public VertexStepOperator(VertexStepOperatorConfig config, TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        _config = config;
        _time = time ?? TimeProvider.System;
        _latest = new RecentAnswers<JsonObject>(_time);
        if (config.MaxRetries is < 0 or > 20) throw new StrataConfigException($"max_retries must be between 0 and 20; it is {config.MaxRetries}.");
        if (string.IsNullOrWhiteSpace(config.Region) || !config.Region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            throw new StrataConfigException($"region '{config.Region}' is not a Google Cloud region (e.g. europe-west1).");
        var vertex = Endpoint(config.EndpointUrl, "endpoint_url");
        var logging = Endpoint(config.LogsEndpointUrl, "logs_endpoint_url") ?? vertex;
        // Credentials are looked up on first use, so that planning a run (or listing a stack) does not need them.
        _client = new Lazy<VertexClient>(() => new VertexClient(
            vertex ?? new Uri($"https://{config.Region.Trim()}-aiplatform.googleapis.com/"),
            logging ?? new Uri("https://logging.googleapis.com/"),
            VertexClient.Credential(config, emulator: vertex is not null), config.MaxRetries, _time, handler));
    }

    private VertexClient Client => _client.Value;

    private string Project => ResolveProject(_config);

    private string Parent => $"projects/{Project}/locations/{_config.Region.Trim()}";

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var plan = CustomJobSpec.Build(launch, _config);
        var submittedAt = _time.GetUtcNow();
        var job = await CreateOnceAsync(plan, launch, cancellationToken).ConfigureAwait(false);
        var name = (string)job["name"]!;
        var machine = (JsonObject)job["jobSpec"]!["workerPoolSpecs"]![0]!["machineSpec"]!;
        var data = new Dictionary<string, string>
        {
            ["job_id"] = name[(name.LastIndexOf('/') + 1)..],
            ["display_name"] = plan.DisplayName,
            ["project"] = name.Split('/')[1],
            ["region"] = _config.Region.Trim(),
            ["submitted_at"] = submittedAt.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = Machine(machine),
        };
        if (plan.WithheldSecrets.Count > 0) data["withheld_secrets"] = string.Join(',', plan.WithheldSecrets);
        return new StepJob(Name, name, launch.StepRunId, data);
    }

    /// <summary>
    /// Creates the job, at most once: a create answered with 429 was refused and is sent again; one that broke off or was
    /// answered with 5xx may have taken effect, so the step run's label is looked up before another is sent.
    /// </summary>
    private async Task<JsonObject> CreateOnceAsync(CustomJobPlan plan, StepLaunch launch, CancellationToken cancellationToken)
    {
        var filter = $"labels.{CustomJobSpec.StepRunLabel}=\"{plan.Labels[CustomJobSpec.StepRunLabel]}\"";
        // The same step run submitted again (a resumed run): its job already exists.
        if (await FindAsync(filter, cancellationToken).ConfigureAwait(false) is { } existing) return existing;
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Client.CreateCustomJobAsync(Parent, plan.Job, cancellationToken).ConfigureAwait(false);
            }
            catch (GoogleApiError e) when (!e.IsTransient)
            {
                throw new StrataConfigException($"Vertex AI refused custom job {plan.DisplayName} for step '{launch.StepName}': {e.Status}: " +
                    $"{e.ServerMessage}{Hint(e)}", e);
            }
            catch (Exception e) when (attempt < MaxCreateAttempts && (e is GoogleApiError or HttpRequestException
                || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested)))
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay *= 2;
                if (e is GoogleApiError { Code: 429 }) continue;
                if (await FindAsync(filter, cancellationToken).ConfigureAwait(false) is { } created) return created;
            }
            catch (OperationCanceledException)
            {
                // The request may have reached Vertex AI before the wait was cancelled: leave no job running.
                await TryCancelFoundAsync(filter).ConfigureAwait(false);
                throw;
            }
        }
    }

    private async Task<JsonObject?> FindAsync(string filter, CancellationToken cancellationToken)
    {
        var found = await Client.ListCustomJobsAsync(Parent, filter, cancellationToken).ConfigureAwait(false);
        return found.OrderBy(j => (string?)j["createTime"], StringComparer.Ordinal).FirstOrDefault();
    }

    private async Task TryCancelFoundAsync(string filter)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            if (await FindAsync(filter, limit.Token).ConfigureAwait(false) is { } job)
                await Client.CancelCustomJobAsync((string)job["name"]!, limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GoogleApiError or HttpRequestException or OperationCanceledException)
        {
            // No such job (the create never arrived) or it cannot be cancelled now: nothing more to do here.
        }
    }

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        try
        {
            return CustomJobStates.ToStatus(await GetAsync(job.JobId, TimeSpan.Zero, cancellationToken).ConfigureAwait(false),
                job.Data.GetValueOrDefault("machine") ?? "the job's machine");
        }
        catch (GoogleApiError e) when (e.Code == 404)
        {
            return new StepJobStatus(StepJobState.Failed, $"custom job {job.JobId} does not exist in Vertex AI");
        }
    }

    /// <summary>Asks Vertex AI to cancel the job (it goes CANCELLING, then CANCELLED); the follower waits for CANCELLED.</summary>
    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        _latest.Forget(job.JobId);
        try
        {
            await Client.CancelCustomJobAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiError e) when (e.Code is 400 or 404 && e.Status is "FAILED_PRECONDITION" or "NOT_FOUND")
        {
            // The job already ended, or never existed: there is nothing to cancel.
        }
    }

    public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        // Vertex AI keeps ended jobs for their history; only forget what was cached about this one.
        _latest.Forget(job.JobId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The job's state changes (<c>[vertex] JOB_STATE_...</c>), Vertex AI's own messages and the job's output, read from Cloud
    /// Logging (<c>resource.type="ml_job" AND resource.labels.job_id=...</c>), until the job has ended and its entries are read.
    /// </summary>
    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return $"[vertex] custom job {job.Data.GetValueOrDefault("job_id")} ({job.Data.GetValueOrDefault("display_name")}) on " +
            $"{job.Data.GetValueOrDefault("machine") ?? "?"} in {job.Data.GetValueOrDefault("region") ?? "?"}";
        if (job.Data.TryGetValue("withheld_secrets", out var withheld))
            yield return $"[vertex] warning: the step's secrets ({withheld}) were not sent: Vertex AI shows a job's spec to anyone who can read the job. " +
                "The job runs as the operator's service_account; give that account what the step needs, or read the values in the step from Secret Manager.";
        var follower = new LogFollower(this, job);
        await foreach (var line in PolledJobLog.FollowAsync(follower.PollAsync, e => e is GoogleApiError or HttpRequestException, "[vertex]", _time,
            cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>GetCustomJob, or its answer from less than <paramref name="maxAge"/> ago (status polls and the log stream share it).</summary>
    private Task<JsonObject> GetAsync(string name, TimeSpan maxAge, CancellationToken cancellationToken) =>
        _latest.GetAsync(name, maxAge, c => Client.GetCustomJobAsync(name, c), cancellationToken);

    /// <summary>The project of the jobs: the config's, else the key file's project_id, else GOOGLE_CLOUD_PROJECT.</summary>
    internal static string ResolveProject(VertexStepOperatorConfig config)
    {
        if (!string.IsNullOrWhiteSpace(config.Project)) return config.Project.Trim();
        string? json = config.CredentialsJson;
        if (json is null && !string.IsNullOrWhiteSpace(config.CredentialsFile))
        {
            var file = Path.GetFullPath(System.Environment.ExpandEnvironmentVariables(config.CredentialsFile.Trim()));
            if (File.Exists(file)) json = File.ReadAllText(file);
        }
        try
        {
            if (json is not null && JsonNode.Parse(json)?["project_id"] is JsonValue v && v.TryGetValue<string>(out var fromKey)) return fromKey;
        }
        catch (System.Text.Json.JsonException)
        {
            // the credentials lookup names the problem
        }
        return System.Environment.GetEnvironmentVariable("GOOGLE_CLOUD_PROJECT") is { Length: > 0 } fromEnv ? fromEnv
            : throw new StrataConfigException("The vertex step operator needs a project: set --project=PROJECT_ID (or use a key file that names one, or " +
                "GOOGLE_CLOUD_PROJECT).");
    }

    internal static string Machine(JsonObject machine)
    {
        var type = (string?)machine["machineType"] ?? "?";
        return machine["acceleratorType"] is { } accelerator ? $"{type} + {(int?)machine["acceleratorCount"] ?? 1} × {accelerator}" : type;
    }

    private static string Hint(GoogleApiError e) => e.Status switch
    {
        "PERMISSION_DENIED" => " (the operator's credentials need aiplatform.customJobs.create, e.g. roles/aiplatform.user, and iam.serviceAccounts.actAs " +
            "on the job's service_account)",
        "UNAUTHENTICATED" => " (the operator's credentials were refused: check service_account_path or GOOGLE_APPLICATION_CREDENTIALS)",
        "INVALID_ARGUMENT" => " (check the step operator's config and the step's settings)",
        _ => "",
    };

    private static Uri? Endpoint(string? url, string key)
    {
        if (string.IsNullOrWhiteSpace(url)) return null;
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new StrataConfigException($"{key} '{url}' is not an http:// or https:// URL.");
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public override ValueTask DisposeAsync()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
        return base.DisposeAsync();
    }

    /// <summary>Follows one job: its state changes, and its new Cloud Logging entries read forward by timestamp.</summary>
    private sealed class LogFollower(VertexStepOperator op, StepJob job)
    {
        private HashSet<string> _seenAtLast = new(StringComparer.Ordinal);
        private string? _lastState;
        private string? _lastTimestamp;
        private int _quietAfterEnd;

        public async Task<(IReadOnlyList<string> Lines, bool Finished)> PollAsync(TimeSpan interval, CancellationToken cancellationToken)
        {
            var described = await op.GetAsync(job.JobId, interval, cancellationToken).ConfigureAwait(false);
            var state = (string?)described["state"];
            var ended = CustomJobStates.IsEnded(state);
            var lines = new List<string>();
            if (state != _lastState && !ended)
            {
                _lastState = state;
                lines.Add($"[vertex] {state}");
            }
            var entries = await ReadAsync(cancellationToken).ConfigureAwait(false);
            lines.AddRange(entries);
            if (ended && state != _lastState)
            {
                _lastState = state;
                lines.Add((string?)described["error"]?["message"] is { Length: > 0 } error ? $"[vertex] {state}: {error}" : $"[vertex] {state}");
            }
            // Cloud Logging may show an entry a moment after it was written: after the end, read until a poll finds nothing new.
            if (ended && entries.Count == 0) _quietAfterEnd++;
            return (lines, ended && _quietAfterEnd >= 2);
        }

        /// <summary>The entries after the last one read; what was read is remembered only once the whole listing came through.</summary>
        private async Task<List<string>> ReadAsync(CancellationToken cancellationToken)
        {
            var filter = $"resource.type=\"ml_job\" AND resource.labels.job_id=\"{job.Data.GetValueOrDefault("job_id")}\"";
            if (_lastTimestamp is not null) filter += $" AND timestamp>=\"{_lastTimestamp}\"";
            var lastTimestamp = _lastTimestamp;
            var seenAtLast = new HashSet<string>(_seenAtLast, StringComparer.Ordinal);
            var lines = new List<string>();
            string? token = null;
            do
            {
                var page = await op.Client.ListLogEntriesAsync(job.Data.GetValueOrDefault("project") ?? op.Project, filter, token, cancellationToken)
                    .ConfigureAwait(false);
                foreach (var entry in (page["entries"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    var timestamp = (string?)entry["timestamp"] ?? "";
                    var id = (string?)entry["insertId"] ?? "";
                    if (timestamp == lastTimestamp && !seenAtLast.Add(id)) continue;
                    if (timestamp != lastTimestamp)
                    {
                        lastTimestamp = timestamp;
                        seenAtLast = new HashSet<string>(StringComparer.Ordinal) { id };
                    }
                    var text = (string?)entry["textPayload"] ?? (string?)entry["jsonPayload"]?["message"] ?? "";
                    var task = (string?)entry["resource"]?["labels"]?["task_name"];
                    lines.Add(string.IsNullOrEmpty(task) ? $"[vertex] {text}" : text.TrimEnd('\r', '\n'));
                }
                token = (string?)page["nextPageToken"];
            }
            while (!string.IsNullOrEmpty(token));
            _lastTimestamp = lastTimestamp;
            _seenAtLast = seenAtLast;
            return lines;
        }
    }
}
