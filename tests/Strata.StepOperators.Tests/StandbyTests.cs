using System.Runtime.InteropServices;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static partial class StandbySteps
{
    /// <summary>Where the step ran and what it was given, as managed code and as native code see it.</summary>
    [Step(StepOperator = "sb", EnableCache = false)]
    public static (string Directory, string Managed, string Native, int Pid, string NoProfileGather) WhereAmI(int copy)
    {
        Console.WriteLine($"copy {copy} running");
        var native = NativeGetenv("STEP_VAR");
        var noGather = NativeGetenv(JitProfile.NoGatherVariable);
        return (Environment.CurrentDirectory, Environment.GetEnvironmentVariable("STEP_VAR") ?? "<unset>",
            native == IntPtr.Zero ? "<unset>" : Marshal.PtrToStringUTF8(native)!, Environment.ProcessId,
            noGather == IntPtr.Zero ? "<unset>" : Marshal.PtrToStringUTF8(noGather)!);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeGetenv(string name);
}

/// <summary>Standby processes: a local step handed to a step process started ahead of it.</summary>
public sealed partial class LocalProcessOperatorTests
{
    [Fact]
    public async Task A_step_handed_to_a_standby_runs_in_its_own_directory_with_its_environment_set_from_the_start()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("sb", ("sb", new() { ["environment"] = "STEP_VAR=from-config" }));
        var steps = Path.Combine(home.HomePath, "steps");

        var first = await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 1), stack: stack);
        Assert.True(first.Succeeded, first["where_am_i"].Error);
        Assert.False(OperatorHome.Job(await home.StepRunAsync(first, "where_am_i")).Data.ContainsKey("standby"));
        var standbyDirectory = await ReadyStandbyAsync(steps);

        var second = await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 2), stack: stack);

        Assert.True(second.Succeeded, second["where_am_i"].Error);
        var stepRun = await home.StepRunAsync(second, "where_am_i");
        var job = OperatorHome.Job(stepRun);
        Assert.Equal("true", job.Data["standby"]);
        Assert.False(Directory.Exists(standbyDirectory)); // it became the step's
        var workDir = Path.Combine(steps, stepRun.Id);
        Assert.Equal(workDir, await second.LoadAsync<string>("where_am_i", "directory"));
        // The standby started with the step's environment: managed and native code see it without anything set later.
        Assert.Equal("from-config", await second.LoadAsync<string>("where_am_i", "managed"));
        Assert.Equal("from-config", await second.LoadAsync<string>("where_am_i", "native"));
        Assert.NotEqual(await first.LoadAsync<int>("where_am_i", "pid"), await second.LoadAsync<int>("where_am_i", "pid"));
        Assert.Contains("copy 2 running", await home.Client.Store.GetStepLogAsync(stepRun.Id));
        Assert.Equal("0", File.ReadAllText(Path.Combine(workDir, "exit_code")).Trim());
        // A standby replays the JIT profile and records none: recording would cost each step thousands of writes as it exits.
        Assert.Equal("1", await second.LoadAsync<string>("where_am_i", "no_profile_gather"));
    }

    [Fact]
    public async Task A_step_whose_environment_differs_from_the_standbys_gets_a_fresh_process_and_the_standby_waits_for_the_next()
    {
        await using var home = await OperatorHome.OpenAsync();
        var (stack, steps, standbyDirectory) = await AfterOneStepAsync(home);

        // A variable the standby was not started with (a runtime one, DOTNET_*, could not be honoured later at all).
        var other = await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 2)
            .WithSettings(new LocalProcessSettings { Environment = new() { ["DOTNET_gcServer"] = "0", ["STEP_VAR"] = "fresh" } }), stack: stack);
        Assert.True(other.Succeeded, other["where_am_i"].Error);
        Assert.False(OperatorHome.Job(await home.StepRunAsync(other, "where_am_i")).Data.ContainsKey("standby"));
        Assert.Equal("fresh", await other.LoadAsync<string>("where_am_i", "managed"));
        Assert.Equal("fresh", await other.LoadAsync<string>("where_am_i", "native"));
        Assert.True(Directory.Exists(standbyDirectory));

        var plain = await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 3), stack: stack);
        Assert.Equal("true", OperatorHome.Job(await home.StepRunAsync(plain, "where_am_i")).Data["standby"]);
        Assert.False(Directory.Exists(standbyDirectory));
    }

    [Fact]
    public async Task Standbys_off_every_step_starts_its_own_process_and_none_waits()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("sb", ("sb", new() { ["standby"] = "false" }));
        var steps = Path.Combine(home.HomePath, "steps");

        for (var copy = 1; copy <= 2; copy++)
        {
            var result = await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, copy), stack: stack);
            Assert.True(result.Succeeded, result["where_am_i"].Error);
            Assert.False(OperatorHome.Job(await home.StepRunAsync(result, "where_am_i")).Data.ContainsKey("standby"));
        }
        await Task.Delay(500);
        Assert.Empty(Directory.GetDirectories(steps, StrataEntrypoint.StandbyDirectoryPrefix + "*"));
    }

    [Fact]
    public async Task A_standby_let_go_removes_its_directory_and_exits()
    {
        await using var home = await OperatorHome.OpenAsync();
        var (stack, steps, standbyDirectory) = await AfterOneStepAsync(home);
        var pids = Processes.InDirectory(standbyDirectory);
        Assert.NotEmpty(pids);

        StandbyProcesses.LetGo(steps);

        await Until(() => !Directory.Exists(standbyDirectory) && pids.All(pid => !Processes.IsAlive(pid)), "the standby to remove its directory and exit");
    }

    [Fact]
    public async Task What_a_standby_killed_before_its_step_left_is_removed_when_the_next_one_starts()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("sb", ("sb", new()));
        var steps = Path.Combine(home.HomePath, "steps");
        var killed = Path.Combine(steps, StrataEntrypoint.StandbyDirectoryPrefix + "killed");
        Directory.CreateDirectory(killed);
        File.WriteAllText(Path.Combine(killed, "stdout.log"), "");
        File.WriteAllText(Path.Combine(killed, "exit_code"), "137\n");
        var starting = Path.Combine(steps, StrataEntrypoint.StandbyDirectoryPrefix + "starting"); // no exit code: its process may live
        Directory.CreateDirectory(starting);

        await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 1), stack: stack);
        await ReadyStandbyAsync(steps);

        Assert.False(Directory.Exists(killed));
        Assert.True(Directory.Exists(starting));
    }

    /// <summary>A stack with the standby operator, its steps directory, and the directory of the standby that a first step left ready.</summary>
    private static async Task<(string Stack, string Steps, string StandbyDirectory)> AfterOneStepAsync(OperatorHome home)
    {
        var stack = await home.StackWithAsync("sb", ("sb", new()));
        var steps = Path.Combine(home.HomePath, "steps");
        await home.RunAsync(p => p.Step(StandbySteps.WhereAmI, 1), stack: stack);
        return (stack, steps, await ReadyStandbyAsync(steps));
    }

    /// <summary>The directory of the standby under <paramref name="steps"/> once it says it is ready.</summary>
    private static async Task<string> ReadyStandbyAsync(string steps)
    {
        string? ready = null;
        await Until(() => (ready = Directory.GetDirectories(steps, StrataEntrypoint.StandbyDirectoryPrefix + "*")
            .FirstOrDefault(d => File.Exists(Path.Combine(d, StrataEntrypoint.StandbyReadyFile)))) is not null, "a standby to be ready");
        return ready!;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition(), $"timed out waiting for {what}");
    }
}
