using System.Runtime.InteropServices;
using Strata;
using Strata.Stacks;
using Strata.StepOperators;
using Strata.Store;
using Strata.Testing;

namespace CustomOperatorExample.Tests;

/// <summary>The conformance suite on the nice operator, and what only this operator does.</summary>
public sealed class NiceStepOperatorTests : StepOperatorConformance
{
    protected override string Flavor => "nice";

    protected override FlavorRegistry Flavors => new FlavorRegistry().Add(new NiceFlavor());

    protected override IReadOnlyDictionary<string, string> OperatorConfig => new Dictionary<string, string> { ["niceness"] = "7" };

    // Its UnsupportedResources names niceness instead of cpus and memory.
    protected override ResourceSupport Resources => ResourceSupport.Warned("niceness");

    // A job is a process started with setsid: its pid is the process group of everything the step starts.
    protected override Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job) => Task.FromResult(ConformanceProcesses.InGroup(job.JobId));

    protected override Task<string> JobSpecAsync(StepJob job) => Task.FromResult(string.Join('\n', ConformanceProcesses.InGroup(job.JobId)));

    // The strata command knows the flavor as a plugin: the library's [assembly: StrataSetup] registers it.
    protected override IReadOnlyDictionary<string, string> CommandEnvironment =>
        new Dictionary<string, string> { ["STRATA_PLUGINS"] = typeof(NiceFlavor).Assembly.Location };

    [Fact]
    public async Task Steps_run_at_the_configured_niceness_or_at_the_one_their_settings_ask_for()
    {
        var result = await Client.RunAsync(p =>
        {
            p.Step(NiceSteps.Niceness, 1);
            p.Step(NiceSteps.Niceness, 2).Named("nicest").WithSettings(new NiceSettings { Niceness = 15 });
        }, new RunOptions { Stack = StackName, Observer = RunObservers.None });

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        var own = NiceSteps.Niceness(0);
        Assert.Equal(Math.Min(19, own + 7), await result.LoadAsync<int>("niceness"));
        Assert.Equal(Math.Min(19, own + 15), await result.LoadAsync<int>("nicest"));
    }

    [Fact]
    public async Task A_cancelled_step_gets_SIGTERM_and_time_to_finish_up()
    {
        var finished = Path.Combine(CaseDirectory, "finished");
        using var cancel = new CancellationTokenSource();

        var run = Client.RunAsync(p => p.Step(NiceSteps.Graceful, finished), new RunOptions { Stack = StackName, Observer = RunObservers.None }, cancel.Token);
        while (!File.Exists(finished + ".started") && !run.IsCompleted) await Task.Delay(50);
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(ExecutionStatus.Cancelled, result["graceful"].Status);
        Assert.True(File.Exists(finished), "the step was killed before it could finish up");
    }
}

public static class NiceSteps
{
    /// <summary>This process's niceness (field 19 of /proc/self/stat).</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Niceness(int unused)
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>On SIGTERM, takes a second to finish up (as a step saving a checkpoint would), records that it did, and exits.</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Graceful(string finished)
    {
        using var terminated = new ManualResetEventSlim();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            terminated.Set();
        });
        File.WriteAllText(finished + ".started", "");
        terminated.Wait(TimeSpan.FromMinutes(2));
        Thread.Sleep(TimeSpan.FromSeconds(1));
        File.WriteAllText(finished, "");
        Environment.Exit(143);
        return 0;
    }
}
