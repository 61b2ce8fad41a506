using System.Net;
using System.Text.Json;

namespace Strata.Slurm.Tests;

/// <summary>The parts that need no cluster: state mapping, parsing, names, validation, request shapes.</summary>
public sealed class SlurmStateTests
{
    [Theory]
    [InlineData("PENDING", "Pending")]
    [InlineData("CONFIGURING", "Pending")]
    [InlineData("REQUEUED", "Pending")]
    [InlineData("REQUEUE_HOLD", "Pending")]
    [InlineData("RESV_DEL_HOLD", "Pending")]
    [InlineData("RUNNING", "Running")]
    [InlineData("COMPLETING", "Running")]
    [InlineData("SUSPENDED", "Running")]
    [InlineData("COMPLETED", "Completed")]
    [InlineData("FAILED", "Failed")]
    [InlineData("TIMEOUT", "Failed")]
    [InlineData("OUT_OF_MEMORY", "Failed")]
    [InlineData("NODE_FAIL", "Failed")]
    [InlineData("PREEMPTED", "Failed")]
    [InlineData("BOOT_FAIL", "Failed")]
    [InlineData("DEADLINE", "Failed")]
    [InlineData("CANCELLED", "Cancelled")]
    [InlineData("CANCELLED by 0", "Cancelled")]
    [InlineData("REVOKED", "Cancelled")]
    [InlineData("running", "Running")]
    [InlineData("SOMETHING_NEW", "Unknown")]
    public void Slurm_states_map_to_phases(string slurmState, string phase) =>
        Assert.Equal(Enum.Parse<SlurmJobPhase>(phase), SlurmJobState.PhaseOf(slurmState));

    [Theory]
    [InlineData("TIMEOUT", "TimeLimit", 0, 15, "reached its time limit")]
    [InlineData("OUT_OF_MEMORY", "OutOfMemory", 0, 9, "ran out of memory")]
    [InlineData("NODE_FAIL", "NodeDown", 0, 0, "a node it ran on failed")]
    [InlineData("PREEMPTED", null, 0, 15, "preempted")]
    [InlineData("BOOT_FAIL", null, 0, 0, "failed to boot")]
    [InlineData("DEADLINE", null, 0, 0, "deadline")]
    public void Failures_keep_their_reason_in_the_description(string slurmState, string? reason, int exit, int signal, string text)
    {
        var state = SlurmJobState.Create("7", "job", slurmState, reason, new SlurmExitStatus(exit, signal));
        Assert.Equal(SlurmJobPhase.Failed, state.Phase);
        Assert.True(state.IsTerminal);
        Assert.Equal(reason, state.Reason);
        Assert.Contains(text, state.Describe(), StringComparison.Ordinal);
        if (signal != 0)
        {
            Assert.Equal(signal, state.Signal);
            Assert.Null(state.ExitCode);
        }
        else Assert.Equal(exit, state.ExitCode);
    }

    [Fact]
    public void Pending_and_running_jobs_have_no_exit_code_and_None_is_no_reason()
    {
        var pending = SlurmJobState.Create("1", "a", "PENDING", "Priority", default);
        Assert.Equal("Priority", pending.Reason);
        Assert.Null(pending.ExitCode);
        Assert.False(pending.IsTerminal);
        Assert.Equal("Slurm job 1 pending (reason: Priority)", pending.Describe());

        var running = SlurmJobState.Create("1", "a", "RUNNING", "None", default);
        Assert.Null(running.Reason);
        Assert.Null(running.ExitCode);

        var done = SlurmJobState.Create("1", "a", "COMPLETED", "None", default);
        Assert.Equal(0, done.ExitCode);
        Assert.Equal("Slurm job 1 completed", done.Describe());
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(512, 2, 0)]
    [InlineData(768, 3, 0)]
    [InlineData(15, 0, 15)]
    [InlineData(9, 0, 9)]
    [InlineData(4294967294, 0, 0)] // NO_VAL-like: no status yet
    [InlineData(-1, 0, 0)]
    public void Raw_wait_statuses_decode_to_exit_code_and_signal(long raw, int exit, int signal) =>
        Assert.Equal(new SlurmExitStatus(exit, signal), SlurmExitStatus.FromWaitStatus(raw));

    [Theory]
    [InlineData("3:0", 3, 0)]
    [InlineData("0:15", 0, 15)]
    [InlineData("0:0", 0, 0)]
    [InlineData("", 0, 0)]
    public void Scontrol_exit_codes_decode(string text, int exit, int signal) =>
        Assert.Equal(new SlurmExitStatus(exit, signal), SlurmExitStatus.ParseScontrol(text));

    [Fact]
    public void Scontrol_job_lines_parse_with_spaces_in_values()
    {
        const string line = "JobId=42 JobName=strata-0193abcd-0123456789ab UserId=root(0) GroupId=root(0) MCS_label=N/A " +
            "Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) " +
            "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=00:05:00 " +
            "AllocNode:Sid=127.0.0.1:29325 TRES=cpu=1,node=1,billing=1 Comment=two words WorkDir=/tmp/a b StdOut=/tmp/o.txt Power=";
        var state = SlurmCliTransport.ParseScontrolJob(line);
        Assert.NotNull(state);
        Assert.Equal(("42", "strata-0193abcd-0123456789ab", SlurmJobPhase.Failed, "NonZeroExitCode", 3),
            (state.JobId, state.Name, state.Phase, state.Reason, state.ExitCode!.Value));
        var fields = SlurmCliTransport.ParseKeyValues(line);
        Assert.Equal("two words", fields["Comment"]);
        Assert.Equal("/tmp/a b", fields["WorkDir"]);
        Assert.Equal("cpu=1,node=1,billing=1", fields["TRES"]);
        Assert.Equal("127.0.0.1:29325", fields["AllocNode:Sid"]);
        Assert.Equal("", fields["Power"]);
    }

    [Fact]
    public void Squeue_lines_parse_with_raw_exit_codes()
    {
        var jobs = SlurmCliTransport.ParseSqueue(
            "2|2|N/A|rt1|FAILED|NonZeroExitCode|512|\n4|4|N/A|rt3|PENDING|JobHeldUser|0|\n5+0|5|N/A|het|RUNNING|None|0|\n").ToList();
        Assert.Equal(2, jobs.Count);
        Assert.Equal(("2", SlurmJobPhase.Failed, 2), (jobs[0].JobId, jobs[0].Phase, jobs[0].ExitCode!.Value));
        Assert.Equal(("4", SlurmJobPhase.Pending, "JobHeldUser"), (jobs[1].JobId, jobs[1].Phase, jobs[1].Reason!));
    }

    [Fact]
    public void Array_tasks_go_by_array_job_id_and_task_id_in_squeue_scontrol_and_rest_answers()
    {
        // squeue --array: task 3 of array 7 ran as job 7 itself, task 1 as job 9.
        var squeue = SlurmCliTransport.ParseSqueue("9|7|1|arr|FAILED|NonZeroExitCode|256|\n7|7|3|arr|RUNNING|None|0|\n").ToList();
        Assert.Equal(["7_1", "7_3"], squeue.Select(j => j.JobId));
        Assert.Equal("7_2", SlurmCliTransport.ParseScontrolJob("JobId=8 ArrayJobId=7 ArrayTaskId=2 JobName=arr JobState=RUNNING Reason=None")!.JobId);
        using var doc = JsonDocument.Parse("""
            {"jobs":[{"job_id":9,"array_job_id":7,"array_task_id":1,"array_task_string":"","name":"arr","job_state":"FAILED","exit_code":256},
                     {"job_id":7,"array_job_id":7,"array_task_id":4294967294,"array_task_string":"2-4,6","name":"arr","job_state":"PENDING",
                      "state_reason":"JobHeldUser","exit_code":0},
                     {"job_id":3,"array_job_id":0,"name":"plain","job_state":"RUNNING","exit_code":0}]}
            """);
        var rest = SlurmRestTransport.Jobs(doc.RootElement).ToList();
        Assert.Equal(["7_1", "7_2", "7_3", "7_4", "7_6", "3"], rest.Select(j => j.JobId));
        Assert.Equal("JobHeldUser", rest[1].Reason);
        Assert.Equal([0L, 2, 4, 10, 11], SlurmRestTransport.TaskIds("0-4:2,10-11%2"));
        Assert.Equal("1234_7", SlurmJobIds.Check("1234_7"));
        Assert.Throws<SlurmException>(() => SlurmJobIds.Check("1234_"));
        Assert.Equal(1001, SlurmCliTransport.ParseMaxArraySize("MaxArraySize            = 1001\nMaxJobCount = 10000\n"));
    }

    [Fact]
    public void A_job_array_is_submitted_with_its_task_range_and_runs_each_tasks_own_script_with_its_output()
    {
        var spec = new SlurmJobSpec { Name = "arr", Script = "true", ArrayTasks = 3, StandardOutput = "/w/array-1/%A_%a.out" };
        Assert.Contains("--array=0-2", SlurmCliTransport.SbatchArguments(spec));
        var launch = new StepLaunch
        {
            Pipeline = "p", RunId = "r", RunName = "run-1", StepName = "branch", StepRunId = "s1", Command = ["true"],
            Environment = new Dictionary<string, string>(), Settings = new SlurmStepOperatorSettings(), ManifestUri = "m",
        };
        var script = SlurmStepJob.ArrayScript(launch, ["/w/a", "/w/b c"]);
        Assert.Contains("  0) dir=/w/a ;;\n  1) dir='/w/b c' ;;\n", script);
        Assert.Contains("exec >\"$dir/stdout.log\" 2>\"$dir/stderr.log\" || exit 3\nexec /bin/bash \"$dir/job.sh\"\n", script);
    }

    [Fact]
    public void REST_job_lists_parse_with_raw_exit_codes()
    {
        using var doc = JsonDocument.Parse("""
            {"jobs":[{"job_id":2,"name":"a","job_state":"FAILED","state_reason":"NonZeroExitCode","exit_code":512},
                     {"job_id":5,"name":"b","job_state":"CANCELLED","state_reason":"None","exit_code":15},
                     {"job_id":6,"name":"c","job_state":"PENDING","state_reason":"BeginTime","exit_code":0},
                     {"job_id":7,"name":"d","job_state":"CANCELLED","state_reason":"None","exit_code":0}]}
            """);
        var jobs = SlurmRestTransport.Jobs(doc.RootElement).ToList();
        Assert.Equal((SlurmJobPhase.Failed, (int?)2, (int?)null), (jobs[0].Phase, jobs[0].ExitCode, jobs[0].Signal));
        Assert.Equal((SlurmJobPhase.Cancelled, (int?)null, (int?)15), (jobs[1].Phase, jobs[1].ExitCode, jobs[1].Signal));
        Assert.Equal((SlurmJobPhase.Pending, "BeginTime"), (jobs[2].Phase, jobs[2].Reason!));
        // Cancelled before its node reported the script's end (or before it ran): no exit code, not exit 0.
        Assert.Equal((SlurmJobPhase.Cancelled, (int?)null, (int?)null), (jobs[3].Phase, jobs[3].ExitCode, jobs[3].Signal));
    }
}

public sealed class SlurmJobNameTests
{
    [Fact]
    public void Step_job_names_are_names_slurm_jobs_accept_and_are_distinct()
    {
        var names = Enumerable.Range(0, 1000).Select(_ => StepJobNames.For(Guid.CreateVersion7().ToString(), "training", "fit model")).ToHashSet();
        Assert.Equal(1000, names.Count);
        Assert.All(names, n => Assert.True(SlurmJobName.IsValid(n), n));
    }
}

public sealed class SlurmJobSpecTests
{
    private static SlurmJobSpec Spec(params string[] extra) => new() { Name = "strata-test", Script = "exit 0\n", ExtraOptions = extra };

    [Theory]
    [InlineData("--constraint=gpu")]
    [InlineData("--exclusive")]
    [InlineData("--nodelist=node[1-3],gpu7")]
    [InlineData("--mail-type=END")]
    [InlineData("--mem-per-cpu=100M")]
    [InlineData("--time-min=10")]
    public void Plain_long_options_are_accepted(string option) => Spec(option).Validate();

    [Theory]
    [InlineData("--comment=a\nb", "newline")]
    [InlineData("--comment=a;rm", "metacharacter ';'")]
    [InlineData("--comment=$(id)", "metacharacter '$'")]
    [InlineData("--comment=`id`", "metacharacter '`'")]
    [InlineData("--comment=a|b", "metacharacter '|'")]
    [InlineData("--comment=a>b", "metacharacter '>'")]
    [InlineData("--comment=two words", "contains a space")]
    [InlineData("-p", "long option")]
    [InlineData("constraint=gpu", "long option")]
    [InlineData("--partition=gpu", "sets --partition")]
    [InlineData("--part=gpu", "sets --partition")]
    [InlineData("--job-name=x", "sets --job-name")]
    [InlineData("--output=/tmp/x", "sets --output")]
    [InlineData("--export=NONE", "sets --export")]
    [InlineData("--wrap=id", "sets --wrap")]
    [InlineData("--hold", "sets --hold")]
    [InlineData("--time=5", "sets --time")]
    [InlineData("--mem=1G", "sets --mem")]
    public void Unsafe_or_reserved_options_are_refused(string option, string problem)
    {
        var e = Assert.Throws<SlurmException>(() => Spec(option).Validate());
        Assert.Equal(SlurmErrorKind.InvalidSpec, e.Kind);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_of_a_spec_is_listed_at_once()
    {
        var spec = new SlurmJobSpec
        {
            Name = "bad name",
            Script = " ",
            Partition = "a b",
            WorkingDirectory = "relative",
            CpusPerTask = 0,
            Environment = new Dictionary<string, string> { ["1X"] = "", ["SLURM_JOB_ID"] = "1" },
        };
        var message = Assert.Throws<SlurmException>(spec.Validate).Message;
        foreach (var part in (string[])["job name 'bad name'", "script is empty", "partition 'a b'", "working directory 'relative'",
                     "cpus per task 0", "'1X'", "SLURM_JOB_ID belongs to Slurm"])
            Assert.Contains(part, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sbatch_arguments_carry_the_spec_but_never_environment_values()
    {
        var begin = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var spec = new SlurmJobSpec
        {
            Name = "strata-x",
            Script = "exit 0",
            Partition = "gpu",
            TimeLimit = TimeSpan.FromSeconds(61),
            MemoryMiB = 2048,
            Gres = "gpu:1",
            BeginTime = begin,
            Hold = true,
            Environment = new Dictionary<string, string> { ["API_TOKEN"] = "s3cret-value" },
            ExtraOptions = ["--constraint=a100"],
        };
        var args = SlurmCliTransport.SbatchArguments(spec);
        Assert.Equal(
            ["--parsable", "--job-name=strata-x", "--partition=gpu", "--time=2", "--mem=2048M", "--gres=gpu:1",
             "--begin=" + begin.ToLocalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
             "--hold", "--export=ALL", "--constraint=a100"],
            args);
        Assert.DoesNotContain(args, a => a.Contains("s3cret", StringComparison.Ordinal));
        Assert.StartsWith("#!/bin/bash\n", spec.ScriptWithShebang, StringComparison.Ordinal);
    }
}

public sealed class SlurmRestRequestTests
{
    /// <summary>Records each request and answers with a canned body.</summary>
    private sealed class Recorder(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public List<(HttpRequestMessage Request, string? Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add((request, request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(status) { Content = new StringContent(body) };
        }
    }

    private static string Token(DateTimeOffset expires)
    {
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{B64("""{"alg":"HS256","typ":"JWT"}""")}.{B64($$"""{"exp":{{expires.ToUnixTimeSeconds()}},"sun":"alice"}""")}.c2ln";
    }

    [Fact]
    public async Task Submit_sends_buffered_json_with_exactly_application_json_and_the_JWT_headers()
    {
        var recorder = new Recorder(HttpStatusCode.OK, """{"errors":[{"error_code":2042,"error":"Job is in held state, pending scheduler release"}],"job_id":77}""");
        var token = Token(DateTimeOffset.UtcNow.AddHours(1));
        using var transport = new SlurmRestTransport(SlurmRestOptions.WithToken(new Uri("http://slurm.test:6820/proxy/"), "alice", token), recorder);
        var spec = new SlurmJobSpec
        {
            Name = "strata-x",
            Script = "exit 0",
            Nodes = 2,
            MemoryMiB = 512,
            BeginTime = DateTimeOffset.FromUnixTimeSeconds(1_900_000_000),
            Hold = true,
            Environment = new Dictionary<string, string> { ["API_TOKEN"] = "s3cret" },
            ExtraOptions = ["--comment=c", "--exclusive", "--nice=3"],
        };

        Assert.Equal("77", await transport.SubmitAsync(spec)); // a held job's 2042 "error" is only a warning

        var (request, body) = Assert.Single(recorder.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://slurm.test:6820/proxy/slurm/v0.0.38/job/submit", request.RequestUri!.ToString());
        Assert.Equal("application/json", request.Content!.Headers.ContentType!.ToString());
        Assert.NotNull(request.Content.Headers.ContentLength);
        Assert.Equal("alice", Assert.Single(request.Headers.GetValues("X-SLURM-USER-NAME")));
        Assert.Equal(token, Assert.Single(request.Headers.GetValues("X-SLURM-USER-TOKEN")));

        using var json = JsonDocument.Parse(body!);
        Assert.Equal("#!/bin/bash\nexit 0", json.RootElement.GetProperty("script").GetString());
        var job = json.RootElement.GetProperty("job");
        Assert.Equal("strata-x", job.GetProperty("name").GetString());
        Assert.Equal("[2,2]", job.GetProperty("nodes").GetRawText());
        Assert.Equal(512, job.GetProperty("memory_per_node").GetInt32());
        Assert.Equal("uts1900000000", job.GetProperty("begin_time").GetString());
        Assert.True(job.GetProperty("hold").GetBoolean());
        Assert.Equal("s3cret", job.GetProperty("environment").GetProperty("API_TOKEN").GetString());
        Assert.NotNull(job.GetProperty("environment").GetProperty("PATH").GetString());
        Assert.Equal("/tmp", job.GetProperty("current_working_directory").GetString());
        Assert.Equal("c", job.GetProperty("comment").GetString());
        Assert.Equal("exclusive", job.GetProperty("exclusive").GetString());
        Assert.Equal(3, job.GetProperty("nice").GetInt32());
    }

    [Fact]
    public async Task Extra_options_without_a_REST_field_are_refused_with_the_supported_list()
    {
        var recorder = new Recorder(HttpStatusCode.OK, "{}");
        using var transport = new SlurmRestTransport(new SlurmRestOptions { BaseAddress = new Uri("http://slurm.test") }, recorder);
        var e = await Assert.ThrowsAsync<SlurmException>(() =>
            transport.SubmitAsync(new SlurmJobSpec { Name = "strata-x", Script = "exit 0", ExtraOptions = ["--mem-per-cpu=1G"] }));
        Assert.Equal(SlurmErrorKind.InvalidSpec, e.Kind);
        Assert.Contains("--comment", e.Message, StringComparison.Ordinal);
        Assert.Empty(recorder.Requests);
    }

    [Fact]
    public async Task Slurm_errors_in_a_reply_become_the_message()
    {
        var recorder = new Recorder(HttpStatusCode.InternalServerError,
            """{"errors":[{"error_code":2029,"error":"Invalid feature specification"}],"job_id":null}""");
        using var transport = new SlurmRestTransport(new SlurmRestOptions { BaseAddress = new Uri("http://slurm.test") }, recorder);
        var e = await Assert.ThrowsAsync<SlurmException>(() =>
            transport.SubmitAsync(new SlurmJobSpec { Name = "strata-x", Script = "exit 0", ExtraOptions = ["--constraint=foo"] }));
        Assert.Equal(SlurmErrorKind.Rejected, e.Kind);
        Assert.Contains("Invalid feature specification (error 2029)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_need_exactly_one_endpoint_and_a_user_for_a_token()
    {
        Assert.Throws<SlurmException>(() => new SlurmRestTransport(new SlurmRestOptions()));
        Assert.Throws<SlurmException>(() => new SlurmRestTransport(new SlurmRestOptions { BaseAddress = new Uri("http://a"), UnixSocketPath = "/s" }));
        Assert.Throws<SlurmException>(() => new SlurmRestTransport(
            new SlurmRestOptions { BaseAddress = new Uri("http://a"), TokenProvider = _ => ValueTask.FromResult("t") }));
    }
}
