using System.Security.Cryptography;
using System.Text;

namespace Strata.Slurm.Tests;

/// <summary>The transports against the real cluster. No test asserts a duration; waits only bound a hang.</summary>
[Collection(SlurmClusterCollection.Name)]
public sealed class SlurmTransportTests(SlurmCluster cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static TheoryData<string> Transports => new() { "cli", "rest" };
    public static TheoryData<string> AllTransports => new() { "cli", "rest", "rest-socket" };

    private static string NewName() => StepJobNames.For(Guid.CreateVersion7().ToString(), "transport", "test");

    private SlurmJobSpec Spec(string name, string script) => new()
    {
        Name = name,
        Script = script,
        WorkingDirectory = cluster.WorkDir,
        StandardOutput = Path.Combine(cluster.WorkDir, name + ".out"),
        TimeLimit = TimeSpan.FromMinutes(10),
    };

    private static async Task<SlurmJobState> WaitAsync(ISlurmTransport transport, string jobId, Func<SlurmJobState, bool> until)
    {
        using var timeout = new CancellationTokenSource(Patience);
        SlurmJobState? last = null;
        while (!timeout.IsCancellationRequested)
        {
            last = await transport.GetJobAsync(jobId);
            Assert.NotNull(last); // well within MinJobAge (300 s): the job must still be known
            if (until(last)) return last;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Job {jobId} never reached the awaited state; last: {last?.Describe()}");
    }

    private static Task<SlurmJobState> WaitTerminalAsync(ISlurmTransport transport, string jobId) =>
        WaitAsync(transport, jobId, s => s.IsTerminal);

    /// <summary>Jobs with this name in squeue's default view (pending and running jobs).</summary>
    private async Task<string> ActiveInSqueueAsync(string name)
    {
        var (code, output) = await cluster.SlurmAsync("squeue", "--noheader", $"--name={name}", "--format=%i %T");
        Assert.Equal(0, code);
        return output.Trim();
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task A_job_that_exits_0_completes_and_its_file_exists(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var name = NewName();
        var file = Path.Combine(cluster.WorkDir, name + ".txt");
        var spec = Spec(name, $"#!/bin/bash\nprintf '%s' \"$STRATA_TEST_VALUE\" > {file}\nexit 0\n") with
        {
            Environment = new Dictionary<string, string> { ["STRATA_TEST_VALUE"] = "value with spaces & $symbols" },
        };

        var id = await transport.SubmitAsync(spec);
        var state = await WaitTerminalAsync(transport, id);

        Assert.Equal(SlurmJobPhase.Completed, state.Phase);
        Assert.Equal("COMPLETED", state.SlurmState);
        Assert.Equal(0, state.ExitCode);
        Assert.Null(state.Signal);
        Assert.Equal(name, state.Name);
        Assert.Equal("value with spaces & $symbols", await File.ReadAllTextAsync(file));
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task A_job_that_exits_3_fails_with_exit_code_3(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var id = await transport.SubmitAsync(Spec(NewName(), "echo about to fail\nexit 3\n")); // no #! line: bash is added

        var state = await WaitTerminalAsync(transport, id);

        Assert.Equal(SlurmJobPhase.Failed, state.Phase);
        Assert.Equal("FAILED", state.SlurmState);
        Assert.Equal(3, state.ExitCode);
        Assert.Null(state.Signal);
        Assert.Equal("NonZeroExitCode", state.Reason);
        Assert.Contains("exit code 3", state.Describe(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_held_job_stays_pending_with_its_reason_and_cancel_removes_it(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var name = NewName();
        var id = await transport.SubmitAsync(Spec(name, "exit 0\n") with { Hold = true });

        var pending = await transport.GetJobAsync(id);
        Assert.NotNull(pending);
        Assert.Equal(SlurmJobPhase.Pending, pending.Phase);
        Assert.Equal("JobHeldUser", pending.Reason);
        Assert.Null(pending.ExitCode);
        Assert.Contains(id, await ActiveInSqueueAsync(name), StringComparison.Ordinal);

        await transport.CancelAsync(id);

        var cancelled = await WaitTerminalAsync(transport, id);
        Assert.Equal(SlurmJobPhase.Cancelled, cancelled.Phase);
        Assert.Equal("", await ActiveInSqueueAsync(name));
        Assert.All(await transport.FindJobsByNameAsync(name), j => Assert.True(j.IsTerminal));
        await transport.CancelAsync(id); // cancelling again is not an error
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_job_with_a_future_begin_time_is_pending_with_reason_BeginTime(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var id = await transport.SubmitAsync(Spec(NewName(), "exit 0\n") with { BeginTime = DateTimeOffset.UtcNow.AddHours(2) });
        try
        {
            // The reason can read "None" for an instant before the first scheduler pass looks at the job.
            var state = await WaitAsync(transport, id, s => s.Reason is not null);
            Assert.Equal(SlurmJobPhase.Pending, state.Phase);
            Assert.Equal("BeginTime", state.Reason);
            Assert.Contains("reason: BeginTime", state.Describe(), StringComparison.Ordinal);
        }
        finally
        {
            await transport.CancelAsync(id);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_running_job_that_is_cancelled_ends_cancelled_and_leaves_the_queue(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var name = NewName();
        var marker = Path.Combine(cluster.WorkDir, name + ".started");
        var id = await transport.SubmitAsync(Spec(name, $"touch {marker}\nsleep 600\n"));

        var running = await WaitAsync(transport, id, s => s.Phase != SlurmJobPhase.Pending);
        Assert.Equal(SlurmJobPhase.Running, running.Phase);
        Assert.Equal("RUNNING", running.SlurmState);
        // RUNNING is reported once the job is placed, a moment before its script starts: cancel a script that runs.
        for (var waited = 0; !File.Exists(marker) && waited < 300; waited++) await Task.Delay(100);
        Assert.True(File.Exists(marker), "the job's script never started");

        await transport.CancelAsync(id);

        var state = await WaitTerminalAsync(transport, id);
        Assert.Equal(SlurmJobPhase.Cancelled, state.Phase);
        Assert.Equal("CANCELLED", state.SlurmState);
        // The job reads CANCELLED a moment before its node reports how the script ended: until then it has no exit status.
        state = await WaitAsync(transport, id, s => s.Signal is not null || s.ExitCode is not null);
        Assert.Equal(SlurmJobPhase.Cancelled, state.Phase);
        // scancel and DELETE /job both send SIGTERM; Slurm follows with SIGKILL when the job has not ended within KillWait
        // (seen on a loaded machine), and either way the job was ended by a signal, not an exit.
        Assert.Contains(state.Signal, new int?[] { 15, 9 });
        Assert.Null(state.ExitCode);
        Assert.Equal("", await ActiveInSqueueAsync(name));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task FindJobsByName_finds_a_job_by_its_name_only(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var name = NewName();
        var other = await transport.SubmitAsync(Spec(NewName(), "exit 0\n") with { Hold = true });
        var id = await transport.SubmitAsync(Spec(name, "exit 0\n") with { Hold = true });
        try
        {
            var found = Assert.Single(await transport.FindJobsByNameAsync(name));
            Assert.Equal(id, found.JobId);
            Assert.Equal(name, found.Name);
            Assert.Equal(SlurmJobPhase.Pending, found.Phase);
            Assert.Empty(await transport.FindJobsByNameAsync(NewName()));
        }
        finally
        {
            await transport.CancelAsync(id);
            await transport.CancelAsync(other);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task GetJobs_answers_for_several_jobs_at_once_and_leaves_out_unknown_ones(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var held = await transport.SubmitAsync(Spec(NewName(), "exit 0\n") with { Hold = true });
        var done = await transport.SubmitAsync(Spec(NewName(), "exit 0\n"));
        try
        {
            await WaitTerminalAsync(transport, done);
            var states = await transport.GetJobsAsync([held, done, "987654321"]);
            Assert.Equal(2, states.Count);
            Assert.Equal(SlurmJobPhase.Pending, states[held].Phase);
            Assert.Equal("JobHeldUser", states[held].Reason);
            Assert.Equal(SlurmJobPhase.Completed, states[done].Phase);
            Assert.Equal(0, states[done].ExitCode);
            Assert.Empty(await transport.GetJobsAsync(["987654321"])); // squeue fails for one unknown id: still no error
            Assert.Empty(await transport.GetJobsAsync([]));
        }
        finally
        {
            await transport.CancelAsync(held);
        }
    }

    [Fact]
    public async Task A_job_submitted_through_one_transport_is_found_through_the_other()
    {
        // What an orchestrator restart needs: the name alone finds the job again, whichever way it was submitted.
        var cli = cluster.Transport("cli");
        var rest = cluster.Transport("rest");
        var name = NewName();
        var id = await cli.SubmitAsync(Spec(name, "exit 0\n") with { Hold = true });
        try
        {
            Assert.Equal(id, Assert.Single(await rest.FindJobsByNameAsync(name)).JobId);
            await rest.CancelAsync(id);
            Assert.Equal(SlurmJobPhase.Cancelled, (await WaitTerminalAsync(cli, id)).Phase);
        }
        finally
        {
            await cli.CancelAsync(id);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task An_unknown_job_is_null_and_cancelling_it_is_not_an_error(string transportName)
    {
        var transport = cluster.Transport(transportName);
        Assert.Null(await transport.GetJobAsync("987654321"));
        await transport.CancelAsync("987654321");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Slurm_rejecting_a_job_is_a_clear_error(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var e = await Assert.ThrowsAsync<SlurmException>(() => transport.SubmitAsync(Spec(NewName(), "exit 0\n") with { Partition = "no-such-partition" }));
        Assert.Equal(SlurmErrorKind.Rejected, e.Kind);
        Assert.Contains("Invalid partition name specified", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Resources_and_extra_options_reach_Slurm(string transportName)
    {
        var transport = cluster.Transport(transportName);
        var spec = Spec(NewName(), "exit 0\n") with
        {
            Hold = true,
            Partition = "debug",
            Nodes = 1,
            Tasks = 1,
            CpusPerTask = 1,
            MemoryMiB = 100,
            TimeLimit = TimeSpan.FromSeconds(90),
            ExtraOptions = ["--comment=from-strata", "--nice=5"],
        };
        var id = await transport.SubmitAsync(spec);
        try
        {
            var (code, output) = await cluster.SlurmAsync("scontrol", "show", "job", "-o", id);
            Assert.Equal(0, code);
            var fields = SlurmCliTransport.ParseKeyValues(output);
            Assert.Equal("from-strata", fields["Comment"]);
            Assert.Equal("5", fields["Nice"]);
            Assert.Equal("debug", fields["Partition"]);
            Assert.Equal("00:02:00", fields["TimeLimit"]); // 90 s rounds up to whole minutes
            Assert.Equal("100M", fields["MinMemoryNode"]);
            Assert.Matches("^1(-1)?$", fields["NumNodes"]); // sbatch --nodes=1 reads back as the range 1-1 while pending
        }
        finally
        {
            await transport.CancelAsync(id);
        }
    }

    [Fact]
    public async Task Jobs_submitted_through_the_local_auth_socket_run_as_nobody()
    {
        var transport = cluster.Transport("rest-socket");
        var name = NewName();
        var file = Path.Combine(cluster.WorkDir, name + ".user");
        var id = await transport.SubmitAsync(Spec(name, $"id -un > {file}\n"));

        Assert.Equal(SlurmJobPhase.Completed, (await WaitTerminalAsync(transport, id)).Phase);
        Assert.Equal("nobody", (await File.ReadAllTextAsync(file)).Trim());
    }

    [Fact]
    public async Task The_REST_transport_with_a_wrongly_signed_token_gets_a_clear_error()
    {
        var token = ForgedToken("root", DateTimeOffset.UtcNow.AddHours(1));
        using var transport = new SlurmRestTransport(SlurmRestOptions.WithToken(cluster.RestUrl, "root", token));

        var e = await Assert.ThrowsAsync<SlurmException>(() => transport.FindJobsByNameAsync(NewName()));
        Assert.Equal(SlurmErrorKind.Authentication, e.Kind);
        Assert.Contains("JWT", e.Message, StringComparison.Ordinal);
        Assert.Contains("scontrol token username=root", e.Message, StringComparison.Ordinal);

        var submit = await Assert.ThrowsAsync<SlurmException>(() => transport.SubmitAsync(Spec(NewName(), "exit 0\n")));
        Assert.Equal(SlurmErrorKind.Authentication, submit.Kind);
    }

    [Fact]
    public async Task The_REST_transport_refuses_a_malformed_or_expired_token_before_sending_it()
    {
        using var garbage = new SlurmRestTransport(SlurmRestOptions.WithToken(cluster.RestUrl, "root", "not-a-token"));
        var e = await Assert.ThrowsAsync<SlurmException>(() => garbage.GetJobAsync("1"));
        Assert.Equal(SlurmErrorKind.Authentication, e.Kind);
        Assert.Contains("not a JWT", e.Message, StringComparison.Ordinal);

        using var expired = new SlurmRestTransport(
            SlurmRestOptions.WithToken(cluster.RestUrl, "root", ForgedToken("root", DateTimeOffset.UtcNow.AddHours(-1))));
        e = await Assert.ThrowsAsync<SlurmException>(() => expired.GetJobAsync("1"));
        Assert.Equal(SlurmErrorKind.Authentication, e.Kind);
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_REST_transport_without_a_token_on_the_JWT_endpoint_is_told_to_give_one()
    {
        using var transport = new SlurmRestTransport(new SlurmRestOptions { BaseAddress = cluster.RestUrl });
        var e = await Assert.ThrowsAsync<SlurmException>(() => transport.GetJobAsync("1"));
        Assert.Equal(SlurmErrorKind.Authentication, e.Kind);
        Assert.Contains("401", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_that_does_not_answer_is_reported_as_unavailable()
    {
        using var transport = new SlurmRestTransport(new SlurmRestOptions { UnixSocketPath = Path.Combine(cluster.WorkDir, "missing.sock") });
        var e = await Assert.ThrowsAsync<SlurmException>(() => transport.GetJobAsync("1"));
        Assert.Equal(SlurmErrorKind.Unavailable, e.Kind);
        Assert.Contains("cannot be reached", e.Message, StringComparison.Ordinal);
    }

    /// <summary>An HS256 JWT with the shape scontrol makes, signed with a key that is not the cluster's.</summary>
    private static string ForgedToken(string user, DateTimeOffset expires)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = B64(Encoding.UTF8.GetBytes($$"""{"exp":{{expires.ToUnixTimeSeconds()}},"iat":{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}},"sun":"{{user}}"}"""));
        var signature = B64(HMACSHA256.HashData(RandomNumberGenerator.GetBytes(32), Encoding.ASCII.GetBytes(header + "." + payload)));
        return $"{header}.{payload}.{signature}";
    }
}
