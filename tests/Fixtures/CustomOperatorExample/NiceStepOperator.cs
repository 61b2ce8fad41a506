using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using CustomOperatorExample;
using Strata;
using Strata.Artifacts;
using Strata.Stacks;
using Strata.StepOperators;

// Whoever loads this library as a plugin (STRATA_PLUGINS for the strata command) gets the flavor.
[assembly: StrataSetup(typeof(NiceSetup))]

namespace CustomOperatorExample;

/// <summary>Per-step settings: a step can ask for another niceness with <c>.WithSettings(new NiceSettings { Niceness = 19 })</c>.</summary>
public class NiceSettings : StepOperatorSettings
{
    [Description("Scheduling niceness of the step process, from 0 (normal) to 19 (only when the machine is idle).")]
    public int Niceness { get; set; } = 10;
}

/// <summary>Component config: the settings' defaults plus what belongs to the component only.</summary>
public sealed class NiceConfig : NiceSettings
{
    [Description("Where jobs keep their output and exit code; default: 'nice-jobs' in the Strata home.")]
    public string? JobsDirectory { get; set; }
}

public sealed class NiceFlavor : StepOperatorFlavor
{
    public override string Name => "nice";
    public override string Description => "Runs each step as a low-priority (nice) process on this machine.";
    public override string Integration => "example";
    public override Type ConfigType => typeof(NiceConfig);
    public override Type SettingsType => typeof(NiceSettings);

    public override StepOperator Create(object config, StepOperatorContext context) =>
        new NiceStepOperator(((NiceConfig)config).JobsDirectory ?? Path.Combine(context.Home.Path, "nice-jobs"));

    public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings)
    {
        if (!resources.IsEmpty) yield return "cpus, gpus and memory: a nice process shares the machine; use niceness to yield to other work";
    }
}

/// <summary>Registers the flavor; an app that uses it adds <c>[assembly: StrataSetup(typeof(NiceSetup))]</c> so its pipelines find it everywhere.</summary>
public sealed class NiceSetup : IStrataSetup
{
    public void Configure(MaterializerRegistry materializers, FlavorRegistry flavors) => flavors.Add(new NiceFlavor());
}

public sealed class NiceStepOperator(string jobsDirectory) : StepOperator
{
    // The shell outlives a TERM (the step decides how to end), lets go of this process's console, runs the step and
    // records its exit code, so the job can be followed (and its output read) from another process after a restart.
    // JobDirectory names the files and reads them back; LogFileFollower turns the growing output into lines.
    private const string Wrapper = "trap : TERM; exec </dev/null >/dev/null 2>&1; \"$@\" >" + JobDirectory.StdoutFile + " 2>" + JobDirectory.StderrFile +
        "; echo $? >exit.tmp && mv exit.tmp " + JobDirectory.ExitCodeFile;

    public override Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(jobsDirectory, StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName));
        Directory.CreateDirectory(dir);
        // setsid gives the job its own process group, so cancelling reaches everything the step starts.
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = dir, UseShellExecute = false };
        var niceness = ((NiceSettings)launch.Settings).Niceness.ToString(CultureInfo.InvariantCulture);
        foreach (var arg in new[] { "/bin/sh", "-c", Wrapper, "sh", "nice", "-n", niceness }.Concat(launch.Command))
            start.ArgumentList.Add(arg);
        // Secrets go into the environment, never onto the command line.
        foreach (var (key, value) in launch.Environment.Concat(launch.Secrets)) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var pid = process.Id.ToString(CultureInfo.InvariantCulture);
        return Task.FromResult(new StepJob(Name, pid, launch.StepRunId, new Dictionary<string, string> { ["dir"] = dir, ["started"] = StartTime(pid) ?? "" }));
    }

    public override Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        var files = new JobDirectory(job.Data["dir"]);
        StepJobStatus Ended(int code) => new(code == 0 ? StepJobState.Succeeded : files.IsCancelled ? StepJobState.Cancelled : StepJobState.Failed,
            code == 0 ? null : $"exit code {code}{files.StderrTail()}", code);
        if (files.ReadExitCode() is { } code) return Task.FromResult(Ended(code));
        if (IsRunning(job)) return Task.FromResult(new StepJobStatus(StepJobState.Running));
        // It may have written its exit code and ended between the two looks: only a process gone without one was killed.
        if (files.ReadExitCode() is { } last) return Task.FromResult(Ended(last));
        return Task.FromResult(new StepJobStatus(files.IsCancelled ? StepJobState.Cancelled : StepJobState.Failed, "the process ended without an exit code"));
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        await new JobDirectory(job.Data["dir"]).MarkCancelledAsync();
        foreach (var signal in (string[])["-TERM", "-KILL"])
        {
            if (!IsRunning(job)) return;
            using var kill = Process.Start("kill", [signal, "--", "-" + job.JobId]);
            await kill.WaitForExitAsync(cancellationToken);
            for (var i = 0; i < 30 && IsRunning(job); i++) await Task.Delay(100, cancellationToken);
        }
    }

    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var files = new JobDirectory(job.Data["dir"]);
        var followers = files.FollowOutput();
        while (true)
        {
            var ended = files.HasExitCodeFile || !IsRunning(job);
            foreach (var follower in followers)
                foreach (var line in follower.ReadNewLines(final: ended))
                    yield return line;
            if (ended) yield break;
            await Task.Delay(200, cancellationToken);
        }
    }

    private static bool IsRunning(StepJob job) => StartTime(job.JobId) is { } started && started == job.Data["started"];

    /// <summary>The process's start time from /proc (null when it is gone or a zombie), so a reused pid is not mistaken for the job.</summary>
    private static string? StartTime(string pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] == "Z" ? null : fields[19];
        }
        catch (IOException) { return null; }
    }
}
