using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Strata.Emulators.Jobs;

/// <summary>
/// What a training job runs: a local command, or an image through a container runner (e.g. <c>podman run --rm --network host
/// --init</c>), as the cloud would pull and start it.
/// </summary>
/// <param name="Entrypoint">The command, or the image's ENTRYPOINT override (empty: the image's own).</param>
/// <param name="Arguments">What follows the entrypoint (the image's CMD override).</param>
/// <param name="Environment">The job's environment.</param>
/// <param name="WorkingDirectory">Where a local command starts.</param>
public sealed record JobCommand(IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string?> Environment,
    string WorkingDirectory)
{
    /// <summary>The image a container runner starts; null for a local command.</summary>
    public string? Image { get; init; }

    /// <summary>The container runner's command line, to which <c>-v</c>, <c>-e NAME</c>, <c>--entrypoint</c>, the image and the arguments are added.</summary>
    public IReadOnlyList<string>? ContainerRunner { get; init; }

    /// <summary>The environment of the container runner process itself (its config files), not passed into the container.</summary>
    public IReadOnlyDictionary<string, string>? RunnerEnvironment { get; init; }

    /// <summary>Host directory → container path, mounted with <c>-v</c>.</summary>
    public IReadOnlyDictionary<string, string>? Volumes { get; init; }

    /// <summary>Whether the process starts with this process's environment (PATH, HOME, DOTNET_ROOT, ...) under the job's own.</summary>
    public bool InheritEnvironment { get; init; } = true;

    /// <summary>
    /// Prefixes of inherited variables a job must not see (e.g. <c>AZURE_</c>: the emulator's caller's credentials, which a cloud
    /// job never has); the job's own <see cref="Environment"/> may still set such names.
    /// </summary>
    public IReadOnlyList<string> WithheldPrefixes { get; init; } = [];

    /// <summary>The command line that runs it: the container runner's, or the entrypoint and arguments as they are.</summary>
    public IReadOnlyList<string> CommandLine() => Image is { } image && ContainerRunner is { Count: > 0 } runner
        ? [.. runner, .. (Volumes ?? new Dictionary<string, string>()).SelectMany(v => new[] { "-v", $"{v.Key}:{v.Value}" }),
            .. Environment.Keys.SelectMany(name => new[] { "-e", name }),
            .. Entrypoint.Count == 0 ? [] : new[] { "--entrypoint", JsonSerializer.Serialize(Entrypoint) }, image, .. Arguments]
        : [.. Entrypoint, .. Arguments];
}

/// <summary>
/// A job's process, in a process group of its own (setsid), its stdout and stderr delivered line by line. Stopping it works as
/// stopping a container: SIGTERM to the main process, then after a grace period SIGKILL to everything it started.
/// </summary>
public sealed class JobProcess : IDisposable
{
    private const string SetSid = "/usr/bin/setsid";

    private readonly Process _process;
    private readonly Task _exited;

    private JobProcess(Process process, Task exited)
    {
        _process = process;
        _exited = exited;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="WaitForExitAsync"/> has returned.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Completes when the main process has exited (not waiting for its output to close).</summary>
    public Task Exited => _exited;

    /// <summary>Starts the command; <paramref name="onLine"/> gets each line it writes (stdout and stderr).</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program does not exist.</exception>
    /// <exception cref="InvalidOperationException">There is nothing to run.</exception>
    public static JobProcess Start(JobCommand command, Action<string> onLine)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(onLine);
        IReadOnlyList<string> line = command.CommandLine();
        if (line.Count == 0) throw new InvalidOperationException("The image has no entrypoint and the job gives none.");
        // In its own process group (setsid execs in place), so that stopping the job reaches everything it started.
        if (File.Exists(SetSid)) line = [SetSid, .. line];
        var start = new ProcessStartInfo(line[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = command.WorkingDirectory,
        };
        foreach (var a in line.Skip(1)) start.ArgumentList.Add(a);
        if (!command.InheritEnvironment) start.Environment.Clear();
        foreach (var name in start.Environment.Keys.Where(k => command.WithheldPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToArray())
            start.Environment.Remove(name);
        foreach (var (k, v) in command.Environment) start.Environment[k] = v;
        if (command.Image is not null)
            foreach (var (k, v) in command.RunnerEnvironment ?? new Dictionary<string, string>()) start.Environment[k] = v;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data); };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        process.Start();
        if (process.HasExited) exited.TrySetResult();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new JobProcess(process, exited.Task);
    }

    /// <summary>
    /// SIGTERM to the main process (as a container runtime does), then waits until it exited or <paramref name="grace"/> passed;
    /// <see cref="KillAsync"/> ends the rest.
    /// </summary>
    public async Task TerminateAsync(Task grace)
    {
        ArgumentNullException.ThrowIfNull(grace);
        if (_process.HasExited) return;
        await SignalAsync(Id.ToString(CultureInfo.InvariantCulture), "TERM");
        await Task.WhenAny(_exited, grace);
    }

    /// <summary>SIGKILL to the process group and the process tree: nothing the job started outlives it.</summary>
    public async Task KillAsync()
    {
        await SignalAsync($"-{Id.ToString(CultureInfo.InvariantCulture)}", "KILL");
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it ended meanwhile
        }
    }

    /// <summary>Waits for the process and the last of its output.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public void Dispose() => _process.Dispose();

    /// <summary>
    /// Ends what an emulator's jobs still run as it shuts down: every living process killed at once, then each job's runner
    /// given up to 10 s to see its end, and the processes disposed.
    /// </summary>
    public static async Task StopAllAsync(IReadOnlyCollection<(JobProcess? Process, Task Runner)> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var (process, _) in jobs)
        {
            try
            {
                if (process is { HasExited: false }) await process.KillAsync();
            }
            catch (InvalidOperationException)
            {
                // it ended meanwhile
            }
        }
        foreach (var (process, runner) in jobs)
        {
            try { await runner.WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
            process?.Dispose();
        }
    }

    /// <summary>Sends a signal to a process id, or to a process group as <c>-pgid</c>.</summary>
    private static async Task SignalAsync(string target, string signal)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", "--", target])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
            });
            if (kill is not null)
            {
                await kill.StandardError.ReadToEndAsync();
                await kill.WaitForExitAsync();
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no kill command: the grace period ends in SIGKILL anyway
        }
    }
}
