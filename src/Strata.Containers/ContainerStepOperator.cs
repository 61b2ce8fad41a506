using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Strata.Containers;

/// <summary>
/// Runs a step in its job image on this machine, through the Docker Engine API: the container runs the image's app with
/// <c>strata-step --manifest URI</c>, a local artifact store is mounted at its own path, resources become container limits,
/// logs are streamed, and cancel stops and removes the container. The container is named after the step run, so a
/// submit that is repeated finds the container it started.
/// </summary>
internal sealed class ContainerStepOperator(Uri engine, StepOperatorContext context) : StepOperator
{
    private const string ContainerKey = "container";
    private const string SecretsKey = "secrets_dir";
    private const string SecretsPath = "/run/strata/secrets.json";
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LogPoll = TimeSpan.FromMilliseconds(250);
    private const int MaxLogReadFailures = 8;

    private readonly DockerClient _docker = new DockerClientConfiguration(engine).CreateClient();

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var settings = (ContainerStepOperatorSettings)launch.Settings;
        var image = launch.Image ?? throw new StrataConfigException($"Step operator '{Name}' has no image to run step '{launch.StepName}': set its image, " +
            "or add a container registry and an image builder to the stack.");
        var name = StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName);
        var existing = await FindAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing is not null) return Handle(name, existing.ID, launch, null);

        await EnsureImageAsync(image, settings.Pull, cancellationToken).ConfigureAwait(false);
        var secretsDir = launch.Secrets.Count == 0 ? null : WriteSecrets(launch.Secrets);
        var (entrypoint, arguments) = launch.ImageCommand();
        var environment = launch.Environment.Select(kv => $"{kv.Key}={kv.Value}").ToList();
        var binds = Binds(settings, name);
        if (secretsDir is not null)
        {
            environment.Add($"{StrataEntrypoint.SecretsFileVariable}={SecretsPath}");
            binds.Add($"{Path.Combine(secretsDir, "secrets.json")}:{SecretsPath}:ro");
        }
        var resources = launch.Resources;
        try
        {
            var parameters = new CreateContainerParameters
            {
                Name = name,
                Image = image,
                Entrypoint = entrypoint?.ToList(),
                Cmd = arguments.ToList(),
                Env = environment,
                Labels = new Dictionary<string, string>
                {
                    ["org.strata.pipeline"] = launch.Pipeline, ["org.strata.run"] = launch.RunName, ["org.strata.step"] = launch.StepName,
                    ["org.strata.step-run-id"] = launch.StepRunId,
                },
                HostConfig = new HostConfig
                {
                    // An init process as PID 1: the step's process can then be killed (even by itself) and its children are reaped.
                    Init = true,
                    NetworkMode = settings.Network,
                    Binds = binds,
                    NanoCPUs = resources.Cpus is { } cpus ? (long)(cpus * 1e9) : 0,
                    Memory = resources.MemoryBytes ?? 0,
                    DeviceRequests = resources.Gpus is { } gpus
                        ? [new DeviceRequest { Driver = "nvidia", Count = gpus, Capabilities = [["gpu"]] }]
                        : null,
                },
            };
            var created = await _docker.Containers.CreateContainerAsync(parameters, cancellationToken).ConfigureAwait(false);
            await _docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken).ConfigureAwait(false);
            return Handle(name, created.ID, launch, secretsDir, JsonSerializer.Serialize(parameters));
        }
        catch (DockerApiException e)
        {
            DeleteSecrets(secretsDir);
            await RemoveAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw new StrataConfigException($"The container engine at {engine} refused step '{launch.StepName}''s container ({image}): {Message(e)}", e);
        }
        catch (HttpRequestException e)
        {
            DeleteSecrets(secretsDir);
            throw Unreachable(e);
        }
    }

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ContainerInspectResponse inspected;
        try
        {
            inspected = await _docker.Containers.InspectContainerAsync(job.Data[ContainerKey], cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            return new StepJobStatus(StepJobState.Cancelled, $"container {job.JobId} no longer exists (stopped and removed)");
        }
        catch (DockerApiException e)
        {
            // A busy engine answers 500 now and then: the next poll asks again.
            return new StepJobStatus(StepJobState.Running, $"the container engine did not answer: {Message(e)}");
        }
        var state = inspected.State;
        return state.Status switch
        {
            "created" or "running" or "paused" or "restarting" => new StepJobStatus(StepJobState.Running, state.Status),
            _ when state.OOMKilled => new StepJobStatus(StepJobState.Failed, "out of memory: the container went over its memory limit", (int)state.ExitCode),
            _ when state.ExitCode == 0 => new StepJobStatus(StepJobState.Succeeded, null, 0),
            _ => new StepJobStatus(StepJobState.Failed, string.IsNullOrEmpty(state.Error) ? $"exit code {state.ExitCode}" : state.Error,
                (int)state.ExitCode),
        };
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        try
        {
            await _docker.Containers.StopContainerAsync(job.Data[ContainerKey],
                new ContainerStopParameters { WaitBeforeKillSeconds = (uint)StopGrace.TotalSeconds }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        await RemoveAsync(job.Data[ContainerKey], cancellationToken).ConfigureAwait(false);
        DeleteSecrets(job.Data.GetValueOrDefault(SecretsKey));
    }

    public override async Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        await RemoveAsync(job.Data[ContainerKey], cancellationToken).ConfigureAwait(false);
        DeleteSecrets(job.Data.GetValueOrDefault(SecretsKey));
    }

    /// <summary>Returns when the container exits, or after <paramref name="delay"/>.</summary>
    public override async Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var exited = _docker.Containers.WaitContainerAsync(job.Data[ContainerKey], stop.Token);
        var waited = Task.Delay(delay, time, stop.Token);
        await Task.WhenAny(exited, waited).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(exited, waited).ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or DockerApiException or HttpRequestException or IOException) { }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// The container's output, read whole at each poll from the line after the last one handed over. podman's followed log
    /// stream drops lines when a step prints fast, where a plain read is exact; the wait between polls grows with the time a
    /// read takes, so a long log costs a small share of the engine's time.
    /// </summary>
    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var container = job.Data[ContainerKey];
        var seen = 0;
        var failures = 0;
        while (true)
        {
            // Whether it had ended is asked before the read, so the read after the end has everything.
            var ended = await HasEndedAsync(container, cancellationToken).ConfigureAwait(false);
            var started = context.Time.GetTimestamp();
            var read = await ReadLogAsync(container, seen, cancellationToken).ConfigureAwait(false);
            foreach (var line in read.Lines) yield return line;
            seen += read.Lines.Count;
            if (read.Gone) yield break;
            // A busy engine refuses a read now and then (or has no log yet for a container just started): read again next poll.
            failures = read.Error is null ? 0 : failures + 1;
            if (read.Error is not null && ended && failures >= MaxLogReadFailures)
            {
                yield return $"(the container engine would not give the rest of the log: {read.Error})";
                yield break;
            }
            if (ended && read.Error is null)
            {
                foreach (var partial in read.Partial) yield return partial;
                yield break;
            }
            var took = context.Time.GetElapsedTime(started);
            // A refused read is asked again later and later (a busy engine refuses several in a row), up to some 20 s in all.
            var wait = failures == 0 ? TimeSpan.FromTicks(Math.Max(LogPoll.Ticks, took.Ticks * 4)) : LogPoll * Math.Min(16, 1 << failures);
            await Task.Delay(wait, context.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> HasEndedAsync(string container, CancellationToken cancellationToken)
    {
        try
        {
            var inspected = await _docker.Containers.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false);
            return inspected.State.Status is "exited" or "dead";
        }
        catch (DockerContainerNotFoundException)
        {
            return true;
        }
        catch (DockerApiException)
        {
            return false;
        }
    }

    /// <summary>The complete lines of the container's log after the first <paramref name="skip"/>, and the unfinished last line of each stream.</summary>
    private async Task<(List<string> Lines, List<string> Partial, bool Gone, string? Error)> ReadLogAsync(string container, int skip,
        CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        MultiplexedStream stream;
        try
        {
            stream = await _docker.Containers.GetContainerLogsAsync(container, tty: false,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            return (lines, [], true, null);
        }
        catch (DockerApiException e)
        {
            return (lines, [], false, Message(e));
        }
        using (stream)
        {
            var buffer = new byte[81920];
            var decoders = new Dictionary<MultiplexedStream.TargetStream, (Decoder Decoder, StringBuilder Text)>();
            var count = 0;
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                if (read.EOF) break;
                if (!decoders.TryGetValue(read.Target, out var target))
                    decoders[read.Target] = target = (Encoding.UTF8.GetDecoder(), new StringBuilder());
                var chars = new char[Encoding.UTF8.GetMaxCharCount(read.Count)];
                target.Text.Append(chars, 0, target.Decoder.GetChars(buffer, 0, read.Count, chars, 0));
                foreach (var line in TakeLines(target.Text))
                    if (count++ >= skip) lines.Add(line);
            }
            return (lines, decoders.Values.Where(t => t.Text.Length > 0).Select(t => t.Text.ToString().TrimEnd('\r')).ToList(), false, null);
        }
    }

    public override ValueTask DisposeAsync()
    {
        _docker.Dispose();
        return base.DisposeAsync();
    }

    private static List<string> TakeLines(StringBuilder text)
    {
        var lines = new List<string>();
        var content = text.ToString();
        var start = 0;
        for (var newline = content.IndexOf('\n', StringComparison.Ordinal); newline >= 0; newline = content.IndexOf('\n', start))
        {
            lines.Add(content[start..newline].TrimEnd('\r'));
            start = newline + 1;
        }
        text.Remove(0, start);
        return lines;
    }

    /// <summary>
    /// The job's handle; <paramref name="spec"/> is what the engine was asked for (no secret is in it), kept for after the container
    /// is gone.
    /// </summary>
    private StepJob Handle(string name, string id, StepLaunch launch, string? secretsDir, string? spec = null)
    {
        var data = new Dictionary<string, string> { [ContainerKey] = id, ["engine"] = engine.ToString() };
        if (secretsDir is not null) data[SecretsKey] = secretsDir;
        if (spec is not null) data["spec"] = spec;
        return new StepJob(Name, name, launch.StepRunId, data);
    }

    /// <summary>A local artifact store at its own path (the manifest and outputs are named by host paths), then the settings' mounts.</summary>
    private List<string> Binds(ContainerStepOperatorSettings settings, string name)
    {
        var binds = new List<string>();
        if (context.ArtifactStore is LocalArtifactStore local)
        {
            Directory.CreateDirectory(local.Root);
            binds.Add($"{local.Root}:{local.Root}");
        }
        foreach (var mount in settings.Mounts ?? [])
        {
            var parts = mount.Split(':');
            if (parts.Length is < 2 or > 3 || !parts[0].StartsWith('/') || !parts[1].StartsWith('/') || (parts.Length == 3 && parts[2] is not ("ro" or "rw")))
                throw new StrataConfigException($"Mount '{mount}' of container {name} is not HOST_PATH:CONTAINER_PATH[:ro] with absolute paths.");
            binds.Add(mount);
        }
        return binds;
    }

    private async Task EnsureImageAsync(string image, ImagePull pull, CancellationToken cancellationToken)
    {
        if (pull != ImagePull.Always && await HasImageAsync(image, cancellationToken).ConfigureAwait(false)) return;
        if (pull == ImagePull.Never)
            throw new StrataConfigException($"The container engine at {engine} does not have image {image}, and pull is 'never'.");
        var reference = ImageReference.Parse(image);
        var registry = context.ContainerRegistry;
        var auth = registry is { Username.Length: > 0 } && registry.Host == reference.Registry
            ? new AuthConfig { Username = registry.Username, Password = registry.Password, ServerAddress = registry.Host }
            : new AuthConfig();
        var errors = new List<string>();
        try
        {
            await _docker.Images.CreateImageAsync(
                new ImagesCreateParameters
                {
                    FromImage = reference.Registry == ImageReference.DockerHub ? reference.Repository : $"{reference.Registry}/{reference.Repository}",
                    Tag = reference.Digest ?? reference.Tag ?? "latest",
                },
                auth, new Progress(m => { if (m.Error?.Message is { Length: > 0 } error) lock (errors) errors.Add(error); }), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            errors.Add(Message(e));
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        if (!await HasImageAsync(image, cancellationToken).ConfigureAwait(false))
            throw new StrataConfigException($"The container engine at {engine} could not pull image {image}" +
                $"{(errors.Count == 0 ? "" : ": " + string.Join("; ", errors.Distinct()))}.");
    }

    private async Task<bool> HasImageAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Images.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    private async Task<ContainerListResponse?> FindAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var found = await _docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
            }, cancellationToken).ConfigureAwait(false);
            return found.FirstOrDefault(c => c.Names.Any(n => n.TrimStart('/') == name));
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    private async Task RemoveAsync(string container, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Removal already under way.
        }
    }

    /// <summary>The step's secrets in a file only its container mounts: a container's environment shows in anyone's inspect.</summary>
    private static string WriteSecrets(IReadOnlyDictionary<string, string> secrets)
    {
        var dir = Directory.CreateTempSubdirectory("strata-secrets-").FullName;
        var path = Path.Combine(dir, "secrets.json");
        // CreateTempSubdirectory makes the directory readable by its owner only.
        using (var file = File.Create(path))
        using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            foreach (var (key, value) in secrets) json.WriteString(key, value);
            json.WriteEndObject();
        }
        return dir;
    }

    private static void DeleteSecrets(string? dir)
    {
        if (dir is null) return;
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private StrataConfigException Unreachable(Exception e) =>
        new($"Cannot reach the container engine at {engine}: {e.Message}. Is Docker or `podman system service` running (set docker_host or DOCKER_HOST)?", e);

    private static string Message(DockerApiException e)
    {
        try
        {
            using var body = JsonDocument.Parse(e.ResponseBody);
            return body.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? e.Message : e.Message;
        }
        catch (JsonException)
        {
            return string.IsNullOrWhiteSpace(e.ResponseBody) ? e.Message : e.ResponseBody.Trim();
        }
    }

    private sealed class Progress(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }
}
