using System.Globalization;
using System.Runtime.CompilerServices;
using Strata.Aws.Json;
using Strata.Aws.Logs;

namespace Strata.Aws.SageMaker;

/// <summary>
/// Runs a step as a SageMaker training job: the user's image runs the step entrypoint with the manifest's URI, the
/// artifacts travel through the s3 artifact store, the job's states and CloudWatch logs are followed, and the job is
/// stopped when the step is cancelled or times out. The job name derives from the step-run id, so status, logs and
/// cancel work from another process after a restart.
/// </summary>
internal sealed class SageMakerStepOperator : StepOperator
{
    /// <summary>How long a job may be missing from DescribeTrainingJob after it was created (SageMaker is eventually consistent).</summary>
    private static readonly TimeSpan NotFoundGrace = TimeSpan.FromSeconds(60);


    private readonly SageMakerStepOperatorConfig _config;
    private readonly ArtifactStore _artifacts;
    private readonly TimeProvider _time;
    private readonly Lazy<(SageMakerClient SageMaker, CloudWatchLogsClient Logs, string Region)> _clients;
    private readonly RecentAnswers<DescribeTrainingJobResponse> _latest;

    public SageMakerStepOperator(SageMakerStepOperatorConfig config, ArtifactStore artifacts, AwsRetryOptions? retry = null, TimeProvider? time = null)
    {
        _config = config;
        _artifacts = artifacts;
        _time = time ?? TimeProvider.System;
        _latest = new RecentAnswers<DescribeTrainingJobResponse>(_time);
        var sageMakerEndpoint = Endpoint(config.EndpointUrl, "endpoint_url");
        var logsEndpoint = Endpoint(config.LogsEndpointUrl, "logs_endpoint_url") ?? sageMakerEndpoint;
        if (config.Region is { Length: > 0 } region) AwsCredentialSource.CheckRegion(region.Trim());
        // Credentials are looked up on first use, so that planning a run (or listing a stack) does not need them.
        _clients = new Lazy<(SageMakerClient, CloudWatchLogsClient, string)>(() =>
        {
            var options = new AwsClientOptions
            {
                Region = AwsCredentialSource.CheckRegion(AwsCredentialSource.ResolveRegion(config.Region, config.Profile)),
                Credentials = AwsCredentialSource.Resolve(config.AccessKeyId, config.SecretAccessKey, config.SessionToken, config.Profile),
                SageMakerEndpoint = sageMakerEndpoint,
                LogsEndpoint = logsEndpoint,
                Retry = retry ?? new AwsRetryOptions(),
                Time = _time,
            };
            return (new SageMakerClient(options), new CloudWatchLogsClient(options), options.Region);
        });
    }

    private SageMakerClient SageMaker => _clients.Value.SageMaker;
    private CloudWatchLogsClient Logs => _clients.Value.Logs;

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var defaultOutput = _artifacts is S3ArtifactStore s3 ? $"{s3.Root}/sagemaker" : null;
        var plan = TrainingJobSpec.Build(launch, _config, defaultOutput);
        var request = plan.Request;
        var name = request.TrainingJobName;
        var submittedAt = _time.GetUtcNow();
        string arn;
        try
        {
            arn = await SageMaker.CreateTrainingJobAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException e) when (e.ErrorCode == "ResourceInUse")
        {
            // The name is the step run's: a retried create that took effect the first time, or this step run submitted again.
            arn = (await DescribeAsync(name, TimeSpan.Zero, cancellationToken).ConfigureAwait(false)).TrainingJobArn;
        }
        catch (AwsServiceException e) when (!e.IsRetryable)
        {
            throw new StrataConfigException($"SageMaker refused training job {name} for step '{launch.StepName}': {e.ErrorCode}: " +
                $"{e.ErrorMessage}{Hint(e, request)}", e);
        }
        catch (OperationCanceledException)
        {
            // The request may have reached SageMaker before the wait was cancelled: leave no job running.
            await TryStopAsync(name).ConfigureAwait(false);
            throw;
        }
        var data = new Dictionary<string, string>
        {
            ["training_job_name"] = name,
            ["arn"] = arn,
            ["region"] = _clients.Value.Region,
            ["submitted_at"] = submittedAt.ToString("O", CultureInfo.InvariantCulture),
            ["instance_type"] = request.ResourceConfig.InstanceType ?? "",
            ["instance_count"] = (request.ResourceConfig.InstanceCount ?? 1).ToString(CultureInfo.InvariantCulture),
        };
        if (plan.WithheldSecrets.Count > 0) data["withheld_secrets"] = string.Join(',', plan.WithheldSecrets);
        return new StepJob(Name, name, launch.StepRunId, data);
    }

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        try
        {
            return TrainingJobStates.ToStatus(await DescribeAsync(job.JobId, TimeSpan.Zero, cancellationToken).ConfigureAwait(false));
        }
        catch (AwsServiceException e) when (SageMakerClient.IsNotFound(e))
        {
            if (job.Data.TryGetValue("submitted_at", out var at)
                && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var submitted)
                && _time.GetUtcNow() - submitted < NotFoundGrace)
                return new StepJobStatus(StepJobState.Queued, "SageMaker does not list the new training job yet");
            return new StepJobStatus(StepJobState.Failed,
                $"training job {job.JobId} does not exist in SageMaker ({job.Data.GetValueOrDefault("region") ?? _clients.Value.Region})");
        }
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        _latest.Forget(job.JobId);
        try
        {
            await SageMaker.StopTrainingJobAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException e) when (e.ErrorCode == "ValidationException" || SageMakerClient.IsNotFound(e))
        {
            // The job already ended (or is stopping, or never existed): there is nothing to stop.
        }
    }

    public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        // SageMaker keeps training jobs (they cannot be deleted); only forget what was cached about this one.
        _latest.Forget(job.JobId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The job's secondary status changes (<c>[sagemaker] Training: ...</c>) and the lines of its CloudWatch log streams
    /// (<c>/aws/sagemaker/TrainingJobs</c>, read forward by token), until the job has ended and its logs are read.
    /// </summary>
    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return $"[sagemaker] training job {job.JobId} on {job.Data.GetValueOrDefault("instance_count") ?? "1"} × " +
            $"{job.Data.GetValueOrDefault("instance_type") ?? "?"} in {job.Data.GetValueOrDefault("region") ?? "?"}";
        if (job.Data.TryGetValue("withheld_secrets", out var withheld))
            yield return $"[sagemaker] warning: the step's secrets ({withheld}) were not sent: SageMaker shows a job's environment to anyone who can " +
                "describe it. The job runs as the operator's execution role; give that role what the step needs, or read the values in the step from AWS " +
                "Secrets Manager.";
        var follower = new LogFollower(this, job);
        await foreach (var line in PolledJobLog.FollowAsync(follower.PollAsync, e => e is AwsServiceException or HttpRequestException, "[sagemaker]", _time,
            cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>DescribeTrainingJob, or its answer from less than <paramref name="maxAge"/> ago (status polls and the log stream share it).</summary>
    internal Task<DescribeTrainingJobResponse> DescribeAsync(string name, TimeSpan maxAge, CancellationToken cancellationToken) =>
        _latest.GetAsync(name, maxAge, c => SageMaker.DescribeTrainingJobAsync(name, c), cancellationToken);

    private async Task TryStopAsync(string name)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            await SageMaker.StopTrainingJobAsync(name, limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AwsServiceException or HttpRequestException or OperationCanceledException)
        {
            // No such job (the create never arrived) or it cannot be stopped now: nothing more to do here.
        }
    }

    private static string Hint(AwsServiceException e, CreateTrainingJobRequest request) => e.ErrorCode switch
    {
        "ResourceLimitExceeded" =>
            $" (an account quota: request an increase for {request.ResourceConfig.InstanceType} training, or choose another instance_type)",
        "AccessDeniedException" => " (the operator's credentials need sagemaker:CreateTrainingJob, and iam:PassRole on the role)",
        "ValidationException" => " (check the step operator's config and the step's settings)",
        _ => "",
    };

    private static Uri? Endpoint(string? url, string key)
    {
        if (string.IsNullOrWhiteSpace(url)) return null;
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new StrataConfigException($"{key} '{url}' is not an http:// or https:// URL.");
        return uri;
    }

    /// <summary>Follows one job: its new secondary statuses and the new events of each of its log streams.</summary>
    private sealed class LogFollower(SageMakerStepOperator op, StepJob job)
    {
        /// <summary>Statuses that come after the step's own output; they are shown after the log lines read in the same poll.</summary>
        private static readonly HashSet<string> AfterTraining = new(StringComparer.Ordinal)
        {
            SecondaryStatus.Uploading, SecondaryStatus.Completed, SecondaryStatus.Failed, SecondaryStatus.Stopping, SecondaryStatus.Stopped,
            SecondaryStatus.MaxRuntimeExceeded, SecondaryStatus.MaxWaitTimeExceeded,
        };

        private readonly Dictionary<string, string?> _tokens = new(StringComparer.Ordinal);
        private readonly int _instances = int.TryParse(job.Data.GetValueOrDefault("instance_count"), CultureInfo.InvariantCulture, out var n) ? n : 1;
        private int _transitions;
        private bool _logsUnavailable;

        /// <param name="interval">How long since the last poll: a status the orchestrator's own polls fetched within it is recent enough.</param>
        /// <param name="cancellationToken">Stops following.</param>
        public async Task<(IReadOnlyList<string> Lines, bool Finished)> PollAsync(TimeSpan interval, CancellationToken cancellationToken)
        {
            var described = await op.DescribeAsync(job.JobId, interval, cancellationToken).ConfigureAwait(false);
            var finished = described.IsTerminal;
            var transitions = described.SecondaryStatusTransitions ?? [];
            var lines = new List<string>();
            while (_transitions < transitions.Count && !AfterTraining.Contains(transitions[_transitions].Status))
                lines.Add(Line(transitions[_transitions++]));
            if (!_logsUnavailable && (described.TrainingStartTime is not null || finished || _tokens.Count > 0))
                lines.AddRange(await ReadLogsAsync(rediscover: _tokens.Count < _instances || finished, cancellationToken).ConfigureAwait(false));
            while (_transitions < transitions.Count)
                lines.Add(Line(transitions[_transitions++]));
            if (finished && described.FailureReason is { Length: > 0 } reason && !lines.Any(l => l.Contains(reason, StringComparison.Ordinal)))
                lines.Add($"[sagemaker] failure reason: {reason}");
            return (lines, finished);
        }

        private static string Line(SecondaryStatusTransition t) =>
            string.IsNullOrWhiteSpace(t.StatusMessage) ? $"[sagemaker] {t.Status}" : $"[sagemaker] {t.Status}: {t.StatusMessage}";

        private async Task<List<string>> ReadLogsAsync(bool rediscover, CancellationToken cancellationToken)
        {
            var lines = new List<string>();
            try
            {
                if (rediscover)
                    foreach (var stream in await op.Logs.TrainingJobStreamsAsync(job.JobId, cancellationToken).ConfigureAwait(false))
                        _tokens.TryAdd(stream.LogStreamName, null);
                foreach (var stream in _tokens.Keys.Order(StringComparer.Ordinal).ToArray())
                {
                    var (events, next) = await op.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream, _tokens[stream],
                        cancellationToken).ConfigureAwait(false);
                    _tokens[stream] = next;
                    var prefix = _tokens.Count > 1 ? $"[{Host(stream)}] " : "";
                    lines.AddRange(events.Select(e => prefix + e.Message.TrimEnd('\r', '\n')));
                }
            }
            catch (AwsServiceException e) when (e.ErrorCode == "ResourceNotFoundException")
            {
                // No log group or stream yet: the job has not written anything.
            }
            catch (AwsServiceException e) when (!e.IsRetryable)
            {
                _logsUnavailable = true;
                lines.Add($"[sagemaker] the job's CloudWatch logs cannot be read ({e.ErrorCode}: {e.ErrorMessage}); following its status only. The " +
                    "operator's credentials need logs:DescribeLogStreams and logs:GetLogEvents.");
            }
            return lines;
        }

        /// <summary><c>job/algo-2-1700000000</c> → <c>algo-2</c>.</summary>
        private static string Host(string stream)
        {
            var name = stream[(stream.LastIndexOf('/') + 1)..];
            var dash = name.LastIndexOf('-');
            return dash > 0 ? name[..dash] : name;
        }
    }
}
