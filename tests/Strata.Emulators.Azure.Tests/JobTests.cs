using System.Net;
using Azure.Core;

namespace Strata.Emulators.Azure.Tests;

/// <summary>Command jobs run for real: states, exit codes, timeout, cancel, queueing, idempotent creation, run history and log reads.</summary>
public sealed class JobTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static string Ws => AzureMlStack.WorkspacePath;

    [Fact]
    public async Task A_job_runs_its_command_through_every_state_to_Completed_with_its_environment()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("echo hello $GREETING from $IMAGE_NAME; echo azure=${AZURE_CLIENT_SECRET:-none}",
            environment: new Dictionary<string, string> { ["GREETING"] = "world" });
        Assert.Equal("Completed", await stack.WaitForStatusAsync(name, Patience, "Completed", "Failed"));
        Assert.Equal(["NotStarted", "Queued", "Preparing", "Starting", "Running", "Finalizing", "Completed"], stack.Emulator.JobHistory(name));
        Assert.Contains("hello world from bash", stack.Emulator.JobLog(name), StringComparison.Ordinal);
        Assert.Contains("azure=none", stack.Emulator.JobLog(name), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_zero_exit_fails_the_job_with_an_error_naming_the_exit_code_in_run_history()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("echo broken >&2; exit 3");
        Assert.Equal("Failed", await stack.WaitForStatusAsync(name, Patience, "Completed", "Failed"));
        var (_, details, _) = await stack.SendAsync(RequestMethod.Get,
            $"history/v1.0{Ws}/runs/{name}/details", apiVersion: "");
        Assert.Equal("Failed", (string?)details!["status"]);
        Assert.Contains("exited with status code 3", (string)details["error"]!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(3, stack.Emulator.JobExitCode(name));
    }

    [Fact]
    public async Task A_job_past_its_limits_timeout_is_stopped_and_Failed()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("sleep 60", timeout: "PT1S");
        Assert.Equal("Failed", await stack.WaitForStatusAsync(name, Patience, "Completed", "Failed"));
        var (_, details, _) = await stack.SendAsync(RequestMethod.Get, $"history/v1.0{Ws}/experiments/strata/runs/{name}/details", apiVersion: "");
        Assert.Contains("timeout", (string)details!["error"]!["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_answers_202_with_an_async_operation_and_the_job_goes_through_CancelRequested_to_Canceled()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("echo started; sleep 60");
        await stack.WaitForStatusAsync(name, Patience, "Running");
        var (status, _, response) = await stack.SendAsync(RequestMethod.Post, $"{Ws}/jobs/{name}/cancel");
        Assert.Equal(202, status);
        Assert.True(response.Headers.TryGetValue("Azure-AsyncOperation", out var operation));
        Assert.True(response.Headers.TryGetValue("Location", out _));
        Assert.Equal("Canceled", await stack.WaitForStatusAsync(name, Patience, "Canceled", "Completed", "Failed"));
        var (_, done, _) = await stack.SendAsync(RequestMethod.Get, new Uri(operation!).PathAndQuery);
        Assert.Equal("Succeeded", (string?)done!["status"]);
        Assert.Contains("CancelRequested", stack.Emulator.JobHistory(name));
    }

    [Fact]
    public async Task Creating_a_job_again_with_the_same_body_answers_the_job_and_a_different_body_conflicts()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var env = await stack.PutEnvironmentAsync();
        var body = AzureMlStack.CommandJob(env, "sleep 30");
        var (first, _, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/same", body);
        var (again, job, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/same", body);
        Assert.Equal(201, first);
        Assert.Equal(200, again);
        Assert.Equal("same", (string?)job!["name"]);
        var (conflict, error, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/same", AzureMlStack.CommandJob(env, "sleep 31"));
        Assert.Equal(409, conflict);
        Assert.NotNull(error!["error"]);
        Assert.Single(stack.Emulator.JobNames);
    }

    [Fact]
    public async Task Jobs_wait_in_Queued_for_the_queue_time_with_its_reason_and_for_compute_capacity()
    {
        await using var stack = await AzureMlStack.StartAsync(o =>
        {
            o.QueueTime = TimeSpan.FromSeconds(2);
            o.QueueReason = "Waiting for quota: 0 of 4 dedicated cores available.";
        }, computeNodes: 1);
        var first = await stack.SubmitAsync("sleep 60");
        await stack.WaitForStatusAsync(first, Patience, "Queued");
        var (_, details, _) = await stack.SendAsync(RequestMethod.Get, $"history/v1.0{Ws}/runs/{first}/details", apiVersion: "");
        Assert.Contains("quota", details!["warnings"]!.ToJsonString(), StringComparison.Ordinal);
        await stack.WaitForStatusAsync(first, Patience, "Running");
        var second = await stack.SubmitAsync("true");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("Queued", stack.Emulator.JobStatus(second));
        var (_, waiting, _) = await stack.SendAsync(RequestMethod.Get, $"history/v1.0{Ws}/runs/{second}/details", apiVersion: "");
        Assert.Contains("capacity", waiting!["warnings"]!.ToJsonString(), StringComparison.Ordinal);
        await stack.SendAsync(RequestMethod.Post, $"{Ws}/jobs/{first}/cancel");
        Assert.Equal("Completed", await stack.WaitForStatusAsync(second, Patience, "Completed", "Failed"));
    }

    [Fact]
    public async Task The_log_file_is_a_signed_url_read_whole_or_from_an_offset_without_a_bearer_token()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("echo first; sleep 1; echo second");
        await stack.WaitForStatusAsync(name, Patience, "Completed", "Failed");
        var (_, details, _) = await stack.SendAsync(RequestMethod.Get, $"history/v1.0{Ws}/runs/{name}/details", apiVersion: "");
        var url = (string)details!["logFiles"]!["user_logs/std_log.txt"]!;
        Assert.Contains("sig=", url, StringComparison.Ordinal);
        using var http = new HttpClient(stack.Emulator.CreateHandler());
        Assert.Equal("first\nsecond\n", await http.GetStringAsync(url));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(6, null);
        using var rest = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        Assert.Equal("second\n", await rest.Content.ReadAsStringAsync());
        using var past = new HttpRequestMessage(HttpMethod.Get, url);
        past.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(13, null);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await http.SendAsync(past)).StatusCode);
        using var forged = await http.GetAsync(url.Replace("sig=", "sig=x", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
    }

    [Fact]
    public async Task Injected_throttling_and_a_lost_answer_are_retried_by_the_azure_core_pipeline()
    {
        await using var stack = await AzureMlStack.StartAsync(o => o.RandomSeed = 7);
        var env = await stack.PutEnvironmentAsync();
        stack.Emulator.ThrottleRate = 0.5;
        for (var i = 0; i < 5; i++)
        {
            var (status, _, _) = await stack.SendAsync(RequestMethod.Get, Ws);
            Assert.Equal(200, status);
        }
        Assert.Contains(stack.Emulator.Requests, r => r.Status == 429);
        stack.Emulator.ThrottleRate = 0;
        stack.Emulator.Options.LoseNextResponse.Add("Jobs.CreateOrUpdate");
        var body = AzureMlStack.CommandJob(env, "true", environment: new Dictionary<string, string> { ["MODE"] = "fast" });
        var (created, job, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/lost", body);
        Assert.Equal(200, created); // the retry found the job the lost answer had created
        Assert.Equal("lost", (string?)job!["name"]);
        Assert.Equal(2, stack.Emulator.Requests.Count(r => r.Method == "PUT" && r.Path.Contains("/jobs/lost", StringComparison.Ordinal)));
        Assert.DoesNotContain(stack.Emulator.Requests.Where(r => r.Api == "arm"),
            r => r.Body.Contains(AzureMlStack.ClientSecret, StringComparison.Ordinal));
    }
}
