using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Strata.Kubernetes;

/// <summary>
/// Runs a step as a Kubernetes Job: one pod running the step's image with <c>strata-step --manifest URI</c>, its secrets in a Secret
/// of its own, its state read from the Job's conditions and the pod's phase and container states, its log followed, and the Job
/// deleted with its pod on cancel. The Job is named after the step run, so status, logs and cancel work from another process.
/// </summary>
internal sealed class KubernetesStepOperator : StepOperator
{
    private const string NamespaceKey = "namespace";
    private const string SecretKey = "secret";
    private const string ContextKey = "context";
    private static readonly TimeSpan DeleteWait = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    /// <summary>Waiting reasons that will not go away by themselves: the step fails with them at once.</summary>
    private static readonly HashSet<string> Hopeless = new(StringComparer.Ordinal)
    {
        "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError",
    };

    private readonly KubernetesStepOperatorConfig _config;
    private readonly TimeProvider _time;
    private readonly Lazy<(IKubernetes Client, string Namespace, string Context)> _api;

    /// <summary>The resourceVersion of each Job's last pod list: a watch from it sees every change after that read.</summary>
    private readonly ConcurrentDictionary<string, string> _podListVersions = new(StringComparer.Ordinal);

    public KubernetesStepOperator(KubernetesStepOperatorConfig config, TimeProvider time)
    {
        _config = config;
        _time = time;
        // The cluster is looked up on first use, so that planning a run (or listing a stack) does not need it.
        _api = new(() => KubernetesApi.Connect(config, time));
    }

    private IKubernetes Api => _api.Value.Client;

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var settings = (KubernetesStepOperatorSettings)launch.Settings;
        var image = launch.Image ?? throw new StrataConfigException($"Step operator '{Name}' has no image to run step '{launch.StepName}': set its image, " +
            "or add a container registry and an image builder to the stack.");
        var ns = _api.Value.Namespace;
        var (job, secret) = JobSpec.Build(launch, settings, image, ns);
        var name = job.Metadata.Name;
        try
        {
            if (secret is not null) await CreateOrKeepAsync(() => Api.CoreV1.CreateNamespacedSecretAsync(secret, ns, cancellationToken: cancellationToken));
            await CreateOrKeepAsync(() => Api.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken));
        }
        catch (HttpOperationException e)
        {
            if (secret is not null) await TryDeleteSecretAsync(ns, secret.Metadata.Name);
            throw new StrataConfigException($"Kubernetes ({_api.Value.Context}) refused Job {name} for step '{launch.StepName}' in namespace {ns}: " +
                $"{KubernetesApi.Message(e)}{Hint(e)}", e);
        }
        catch (HttpRequestException e)
        {
            throw new StrataConfigException($"Cannot reach the Kubernetes API server of context '{_api.Value.Context}': {e.Message}", e);
        }
        var data = new Dictionary<string, string> { [NamespaceKey] = ns, [ContextKey] = _api.Value.Context, ["image"] = image };
        if (secret is not null) data[SecretKey] = secret.Metadata.Name;
        return new StepJob(Name, name, launch.StepRunId, data);
    }

    /// <summary>Creates an object; one that exists already (a retried create, the same step run submitted again) is taken as is.</summary>
    private static async Task CreateOrKeepAsync<T>(Func<Task<T>> create)
    {
        try
        {
            await create().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }
    }

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ns = job.Data[NamespaceKey];
        V1Job current;
        try
        {
            current = await Api.BatchV1.ReadNamespacedJobAsync(job.JobId, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (KubernetesApi.IsNotFound(e))
        {
            return new StepJobStatus(StepJobState.Cancelled, $"Job {job.JobId} no longer exists in namespace {ns} (it was deleted)");
        }
        var pod = await PodOfAsync(job, cancellationToken).ConfigureAwait(false);
        var terminated = Container(pod)?.State?.Terminated;
        if (Condition(current, "Complete") is not null) return new StepJobStatus(StepJobState.Succeeded, null, 0);
        if (Condition(current, "Failed") is { } failed)
        {
            var why = terminated is null ? $"{failed.Reason}: {failed.Message}" : $"{failed.Reason}: {Describe(terminated)}";
            return new StepJobStatus(StepJobState.Failed, why, terminated?.ExitCode);
        }
        if (pod is null) return new StepJobStatus(StepJobState.Queued, "waiting for the Job's pod to be created");
        switch (pod.Status?.Phase)
        {
            case "Succeeded":
                return new StepJobStatus(StepJobState.Succeeded, null, 0);
            case "Failed":
                return new StepJobStatus(StepJobState.Failed, terminated is null ? pod.Status.Reason ?? "the pod failed" : Describe(terminated),
                    terminated?.ExitCode);
            case "Running":
                return new StepJobStatus(StepJobState.Running, pod.Status.Phase);
        }
        var pending = PendingReason(pod);
        if (Container(pod)?.State?.Waiting is { Reason: { } reason } && Hopeless.Contains(reason))
            return new StepJobStatus(StepJobState.Failed, $"{pending} (image {job.Data.GetValueOrDefault("image")})");
        return new StepJobStatus(StepJobState.Queued, pending);
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ns = job.Data[NamespaceKey];
        await DeleteJobAsync(job.JobId, ns, cancellationToken).ConfigureAwait(false);
        // Foreground deletion: the Job is gone only once its pod is. Wait for that, so nothing of the step runs on.
        var deadline = _time.GetUtcNow() + DeleteWait;
        while (_time.GetUtcNow() < deadline)
        {
            var jobGone = false;
            try
            {
                await Api.BatchV1.ReadNamespacedJobAsync(job.JobId, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (KubernetesApi.IsNotFound(e))
            {
                jobGone = true;
            }
            if (jobGone && await PodOfAsync(job, cancellationToken).ConfigureAwait(false) is null) break;
            await Task.Delay(Poll, _time, cancellationToken).ConfigureAwait(false);
        }
        if (job.Data.TryGetValue(SecretKey, out var secret)) await TryDeleteSecretAsync(ns, secret).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the step's Secret, and the Job when it never finished (a pod whose image cannot be pulled); a finished Job is left to
    /// ttl_seconds_after_finished, so that kubectl can still show it.
    /// </summary>
    public override async Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ns = job.Data[NamespaceKey];
        if (job.Data.TryGetValue(SecretKey, out var secret)) await TryDeleteSecretAsync(ns, secret).ConfigureAwait(false);
        try
        {
            var current = await Api.BatchV1.ReadNamespacedJobAsync(job.JobId, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (Condition(current, "Complete") is null && Condition(current, "Failed") is null)
                await CancelAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (KubernetesApi.IsNotFound(e))
        {
        }
    }

    /// <summary>
    /// Watches the Job's pods from the last status poll's list: returns at the first change (scheduled, started, ended), so a finished
    /// step is noticed at once rather than after the poll's backoff; after <paramref name="delay"/> at the latest.
    /// </summary>
    public override async Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_podListVersions.TryGetValue(job.JobId, out var version))
        {
            await base.WaitForChangeAsync(job, delay, time, cancellationToken).ConfigureAwait(false);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waited = Task.Delay(delay, time, stop.Token);
        var changed = FirstPodEventAsync(job, version, delay, stop.Token);
        await Task.WhenAny(waited, changed).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(waited, changed).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpOperationException or HttpRequestException or IOException)
        {
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task FirstPodEventAsync(StepJob job, string version, TimeSpan delay, CancellationToken cancellationToken)
    {
        var events = Api.CoreV1.WatchListNamespacedPodAsync(job.Data[NamespaceKey], labelSelector: $"job-name={job.JobId}",
            resourceVersion: version, timeoutSeconds: (int)Math.Ceiling(delay.TotalSeconds) + 1, cancellationToken: cancellationToken);
        try
        {
            await foreach (var _ in events.ConfigureAwait(false))
                return;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or k8s.KubernetesException)
        {
            // A refused or broken watch (an expired resourceVersion): not a change, and not a reason to poll at once.
        }
        // The watch ended without a change (its timeout, or a dropped connection): the delay decides.
        await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The pod's pending reasons as they change, then its log, followed with timestamps: a stream that drops is opened again from the
    /// last line's time, and lines already given are skipped, so none is lost or repeated.
    /// </summary>
    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ns = job.Data[NamespaceKey];
        yield return $"[kubernetes] Job {job.JobId} in namespace {ns} (context {job.Data.GetValueOrDefault(ContextKey)})";
        var cursor = new LogCursor();
        string? shown = null;
        var unreadable = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            V1Pod? pod;
            try
            {
                pod = await PodOfAsync(job, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                pod = null;
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            var state = Container(pod)?.State;
            if (pod is null || (state?.Running is null && state?.Terminated is null))
            {
                if (pod is not null && PendingReason(pod) is var reason && reason != shown)
                {
                    shown = reason;
                    yield return $"[kubernetes] pod {pod.Metadata.Name}: {reason}";
                }
                if (await HasEndedAsync(job, cancellationToken).ConfigureAwait(false))
                {
                    // The pod may have run and ended between the two reads: then its log is read once more before the end.
                    if (await ContainerRanAsync(job, cancellationToken).ConfigureAwait(false)) continue;
                    yield break;
                }
                if (!await DelayAsync(cancellationToken).ConfigureAwait(false)) yield break;
                continue;
            }
            var ended = state.Terminated is not null;
            cursor.Opened = false;
            await foreach (var line in ReadLogAsync(pod, ns, follow: !ended, cursor, cancellationToken).ConfigureAwait(false))
                yield return line;
            if (cancellationToken.IsCancellationRequested) yield break;
            if (ended && cursor.Opened) yield break;
            if (ended && ++unreadable >= 5)
            {
                yield return $"[kubernetes] the log of pod {pod.Metadata.Name} could not be read; kubectl logs {pod.Metadata.Name} -n {ns} may still show it";
                yield break;
            }
            // The followed stream ended: the container did (the next round reads what is left and stops), or the connection dropped.
        }
    }

    private async IAsyncEnumerable<string> ReadLogAsync(V1Pod pod, string ns, bool follow, LogCursor cursor,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Stream? stream = null;
        try
        {
            var response = await Api.CoreV1.ReadNamespacedPodLogWithHttpMessagesAsync(pod.Metadata.Name, ns, JobSpec.ContainerName, follow: follow,
                sinceSeconds: cursor.SinceSeconds(_time.GetUtcNow()), timestamps: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            stream = response.Body;
            cursor.Opened = true;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            // The container is not ready for it yet, or the server is busy: the next round asks again.
        }
        if (stream is null)
        {
            await DelayAsync(cancellationToken).ConfigureAwait(false);
            yield break;
        }
        using var reader = new StreamReader(stream);
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                yield break; // dropped: the caller opens it again
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            if (line is null) yield break;
            if (cursor.Take(line) is { } text) yield return text;
        }
    }

    private async Task<bool> HasEndedAsync(StepJob job, CancellationToken cancellationToken)
    {
        try
        {
            return (await GetStatusAsync(job, cancellationToken).ConfigureAwait(false)).IsFinished;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            return false;
        }
    }

    private async Task<bool> ContainerRanAsync(StepJob job, CancellationToken cancellationToken)
    {
        try
        {
            return Container(await PodOfAsync(job, cancellationToken).ConfigureAwait(false))?.State?.Terminated is not null;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            return false;
        }
    }

    private async Task<bool> DelayAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Poll, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The Job's newest pod (there is one: backoffLimit is 0), or null before it is created or after it is deleted.</summary>
    private async Task<V1Pod?> PodOfAsync(StepJob job, CancellationToken cancellationToken)
    {
        var pods = await Api.CoreV1.ListNamespacedPodAsync(job.Data[NamespaceKey], labelSelector: $"job-name={job.JobId}",
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (pods.Metadata?.ResourceVersion is { Length: > 0 } version) _podListVersions[job.JobId] = version;
        return pods.Items.OrderByDescending(p => p.Metadata.CreationTimestamp).FirstOrDefault();
    }

    private static V1ContainerStatus? Container(V1Pod? pod) =>
        pod?.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == JobSpec.ContainerName);

    private static V1JobCondition? Condition(V1Job job, string type) =>
        job.Status?.Conditions?.FirstOrDefault(c => c.Type == type && c.Status == "True");

    /// <summary>Why a pod waits: <c>Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu.</c>, <c>ImagePullBackOff: ...</c>.</summary>
    private static string PendingReason(V1Pod pod)
    {
        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled)
            return $"{unscheduled.Reason}: {unscheduled.Message}";
        if (Container(pod)?.State?.Waiting is { } waiting)
            return string.IsNullOrEmpty(waiting.Message) ? waiting.Reason ?? "waiting" : $"{waiting.Reason}: {waiting.Message}";
        return pod.Status?.Phase ?? "Pending";
    }

    private static string Describe(V1ContainerStateTerminated terminated) =>
        $"exit code {terminated.ExitCode}{(string.IsNullOrEmpty(terminated.Reason) ? "" : $" ({terminated.Reason})")}" +
        (string.IsNullOrEmpty(terminated.Message) ? "" : $": {terminated.Message}");

    private async Task DeleteJobAsync(string name, string ns, CancellationToken cancellationToken)
    {
        try
        {
            await Api.BatchV1.DeleteNamespacedJobAsync(name, ns, propagationPolicy: "Foreground", cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (KubernetesApi.IsNotFound(e))
        {
        }
    }

    private async Task TryDeleteSecretAsync(string ns, string name)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            await Api.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: limit.Token).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (KubernetesApi.IsNotFound(e))
        {
        }
    }

    private static string Hint(HttpOperationException e) => (int?)e.Response?.StatusCode switch
    {
        401 => " (the kubeconfig's credentials were refused: log in again, e.g. refresh the context's token)",
        403 => " (the context's user needs create, get, list, delete on jobs, pods, pods/log and secrets in the namespace)",
        404 => " (does the namespace exist? set kubernetes_namespace)",
        422 => " (check the operator's pod_settings and the step's settings)",
        _ => "",
    };

    public override ValueTask DisposeAsync()
    {
        if (_api.IsValueCreated) _api.Value.Client.Dispose();
        return base.DisposeAsync();
    }

    /// <summary>
    /// Where a followed log is: the last line's timestamp and how many lines had it. Lines at or before it are skipped when the
    /// stream is opened again from a second before it.
    /// </summary>
    private sealed class LogCursor
    {
        private DateTimeOffset? _last;
        private int _atLast;
        private int _seenAtLast;

        /// <summary>Whether the last read got the log stream at all.</summary>
        public bool Opened { get; set; }

        /// <summary>sinceSeconds of the next read: from a little before the last line (the server's clock may differ), or the start.</summary>
        public int? SinceSeconds(DateTimeOffset now)
        {
            _seenAtLast = 0;
            return _last is { } last ? (int)Math.Ceiling(Math.Max(0, (now - last).TotalSeconds)) + 5 : null;
        }

        /// <summary>The line's text without its timestamp, or null when it was given already.</summary>
        public string? Take(string line)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0 || !TryParse(line[..space], out var at)) return line;
            var text = line[(space + 1)..];
            if (_last is { } last)
            {
                if (at < last) return null;
                if (at == last)
                {
                    if (++_seenAtLast <= _atLast) return null;
                    _atLast++;
                    return text;
                }
            }
            _last = at;
            _atLast = 1;
            _seenAtLast = 1;
            return text;
        }

        /// <summary>RFC 3339 with up to nine fractional digits (Kubernetes gives nanoseconds; .NET keeps seven).</summary>
        private static bool TryParse(string text, out DateTimeOffset at)
        {
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0)
            {
                var end = dot + 1;
                while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
                if (end - dot - 1 > 7) text = text[..(dot + 8)] + text[end..];
            }
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out at);
        }
    }
}
