using System.Text.Json;

namespace Strata.StepOperators;

/// <summary>
/// Runs a step through a step operator: writes the manifest, submits the entrypoint as a job, follows its state and
/// logs, applies the pending and step timeouts, cancels the job when the run is cancelled, and reads the result record.
/// </summary>
internal sealed class RemoteStepLauncher(StepPlan plan, string? image, IMetadataStore store, SecretManager secrets, ArtifactStoreLocator locator,
    IRunObserver observer, TimeProvider time) : IStepLauncher
{
    private const int LogTailLines = 20;

    /// <summary>
    /// How long the log stream may go on after its job ended: operators end their stream once they have read the end of the log,
    /// which for a large log on a busy machine (a whole 10 MB read from a container engine) takes seconds.
    /// </summary>
    private static readonly TimeSpan LogDrain = TimeSpan.FromSeconds(30);

    public async Task<StepExecutionResult> LaunchAsync(StepInvocation invocation, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken)
    {
        var op = plan.Operator!;
        var settings = (StepOperatorSettings)plan.Settings!;
        var secretEnvironment = await secrets.EnvironmentForAsync(invocation.Node.Definition.Secrets, cancellationToken).ConfigureAwait(false);
        var masker = new SecretMasker(secretEnvironment.Values);
        invocation.Log.Masker = masker;
        var manifest = StepManifest.Create(invocation);
        await artifacts.WriteFileAsync(StepManifest.PathFor(invocation.OutputPrefix), manifest.ToJson(), cancellationToken).ConfigureAwait(false);
        var manifestUri = artifacts.UriOf(StepManifest.PathFor(invocation.OutputPrefix));
        var command = settings.Entrypoint is { Count: > 0 } entrypoint
            ? [.. entrypoint, StrataEntrypoint.Verb, "--manifest", manifestUri]
            : StrataEntrypoint.DefaultCommand(manifestUri)
              ?? throw new StrataConfigException($"Step operator '{op.Name}' has no command to run step '{invocation.Node.Name}': add `if (await " +
                  $"StrataEntrypoint.TryRunAsync(args) is {{ }} code) return code;` at the top of your app's Main, or set the operator's entrypoint " +
                  "(--entrypoint=dotnet,/path/App.dll).");
        var launch = new StepLaunch
        {
            Pipeline = invocation.Run.Pipeline,
            RunId = invocation.Run.Id,
            RunName = invocation.Run.Name,
            StepName = invocation.Node.Name,
            StepRunId = invocation.StepRunId,
            Attempt = invocation.Attempt,
            StepDefinition = invocation.Node.Definition.FullName,
            Command = command,
            Environment = new Dictionary<string, string>
            {
                [ArtifactStoreLocator.EnvironmentVariable] = locator.ToJson(),
                // Names only: the entrypoint masks these variables' values in the log it writes.
                [StrataEntrypoint.SecretVariablesVariable] = string.Join(',', secretEnvironment.Keys),
            },
            Secrets = secretEnvironment,
            Settings = settings,
            Resources = plan.Resources,
            Image = image,
            AppName = invocation.Node.Definition.Method.Module.Assembly.GetName().Name,
            ManifestUri = manifestUri,
            Timeout = plan.Timeout,
            PendingTimeout = plan.PendingTimeout,
        };

        var submittedAt = time.GetUtcNow();
        var job = await StepJobFollower.SubmitAsync(op, launch, time, cancellationToken).ConfigureAwait(false);
        System.Diagnostics.Activity.Current?.SetTag(StrataTelemetry.Tags.JobId, job.JobId);
        await store.SetStepJobAsync(invocation.StepRunId, op.Name, JsonSerializer.Serialize(job, StrataJson.Compact),
            CancellationToken.None).ConfigureAwait(false);
        return await FollowAsync(invocation, job, artifacts, masker, submittedAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Follows a job that an earlier process submitted for this step run and did not see end (it died, or its machine
    /// slept), from its stored handle: a job still queued or running is followed to its end, and one that ended while
    /// nobody watched has its result collected. Its timeouts count from now.
    /// </summary>
    public async Task<StepExecutionResult> ReattachAsync(StepInvocation invocation, StepJob job, ArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var secretEnvironment = await secrets.EnvironmentForAsync(invocation.Node.Definition.Secrets, cancellationToken).ConfigureAwait(false);
        var masker = new SecretMasker(secretEnvironment.Values);
        invocation.Log.Masker = masker;
        observer.StepChanged(new StepProgress(invocation.Node.Name, ExecutionStatus.Running, null, $"re-attached to job {job.JobId} on '{job.Operator}'"));
        return await FollowAsync(invocation, job, artifacts, masker, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<StepExecutionResult> FollowAsync(StepInvocation invocation, StepJob job, ArtifactStore artifacts, SecretMasker masker,
        DateTimeOffset submittedAt, CancellationToken cancellationToken)
    {
        var op = plan.Operator!;
        var resultPath = StepManifest.ResultPathFor(invocation.OutputPrefix);
        var step = invocation.Node.Name;
        var follower = new StepJobFollower(op, job, time)
        {
            Step = step, Timeout = plan.Timeout, PendingTimeout = plan.PendingTimeout, SubmittedAt = submittedAt,
            Queued = status => observer.StepChanged(new StepProgress(step, ExecutionStatus.Pending, null,
                $"queued on '{op.Name}' as job {job.JobId}{(status.Reason is null ? "" : $": {status.Reason}")}")),
            StartedAfterQueue = () => observer.StepChanged(new StepProgress(step, ExecutionStatus.Running, null, $"job {job.JobId} started on '{op.Name}'")),
            Warning = observer.Warning,
        };
        using var logStop = new CancellationTokenSource();
        var logs = FollowLogsAsync(op, job, invocation.Log, logStop.Token);
        StepJobStatus status;
        try
        {
            status = await follower.FollowAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Let the stream drain what the job wrote last, then stop following.
            try
            {
                await logs.WaitAsync(LogDrain, time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await logStop.CancelAsync().ConfigureAwait(false);
                await logs.ConfigureAwait(false);
            }
            await op.CleanupAsync(job, CancellationToken.None).ConfigureAwait(false);
        }

        var resultBytes = await artifacts.ReadFileAsync(resultPath, CancellationToken.None).ConfigureAwait(false);
        var tail = Tail(invocation.Log.Text);
        if (resultBytes is null)
            throw new StepFailedException(masker.Mask(
                $"job {job.JobId} on step operator '{op.Name}' " +
                $"{status.State.ToString().ToLowerInvariant()}{(status.ExitCode is { } code ? $" with exit code {code}" : "")}" +
                $"{(status.Reason is { } reason ? $": {reason}" : "")}, without a " +
                $"result{(tail.Length > 0 ? $"; last output:{Environment.NewLine}{tail}" : "")}"),
                invocation.Node.Name, op.Name, job.JobId, status.State, status.ExitCode, null, tail);
        var result = StepResultRecord.FromJson(resultBytes);
        if (result.Status != StepResultRecord.Completed)
        {
            // The entrypoint ends the log with the exception itself; what the step printed before it is the useful tail.
            var output = Tail(OutputBefore(invocation.Log.Text, result.ErrorType));
            throw new StepFailedException(
                masker.Mask($"{ShortType(result.ErrorType)}: {result.ErrorMessage} (on step operator '{op.Name}', job {job.JobId}, host {result.Host})" +
                    $"{(output.Length > 0 ? $"; last output:{Environment.NewLine}{output}" : "")}"),
                invocation.Node.Name, op.Name, job.JobId, status.State, status.ExitCode, result.ErrorType, tail);
        }
        if (status.State != StepJobState.Succeeded)
            throw new StepFailedException($"job {job.JobId} on step operator '{op.Name}' ended {status.State.ToString().ToLowerInvariant()} after writing " +
                $"its result: {status.Reason}",
                invocation.Node.Name, op.Name, job.JobId, status.State, status.ExitCode, null, tail);
        invocation.Log.WriteLine($"ran on step operator '{op.Name}' ({plan.Flavor!.Name}), job {job.JobId}, host {result.Host}, process {result.ProcessId}");
        return new StepExecutionResult(result.Outputs.Select(a => (a.OutputName, a, (object?)null)).ToArray());
    }

    private static async Task FollowLogsAsync(StepOperator op, StepJob job, StepLog log, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var line in op.StreamLogsAsync(job, cancellationToken).ConfigureAwait(false))
                log.WriteLine(line);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or HttpRequestException or StrataException)
        {
            log.WriteLine($"(log stream from '{op.Name}' ended: {e.Message})");
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(Environment.NewLine, lines.Skip(Math.Max(0, lines.Length - LogTailLines)));
    }

    /// <summary>The log up to the entrypoint's report of the step's exception (<c>Type: message</c> and its stack trace).</summary>
    private static string OutputBefore(string log, string? errorType)
    {
        var at = errorType is null ? -1 : log.LastIndexOf(errorType + ":", StringComparison.Ordinal);
        return at < 0 ? log : log[..at];
    }

    private static string ShortType(string? fullName) => fullName is null ? "Error" : fullName[(fullName.LastIndexOf('.') + 1)..];
}
