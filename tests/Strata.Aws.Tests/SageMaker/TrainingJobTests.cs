using Strata.Aws.Json;
using Strata.Aws.Logs;
using Strata.Aws.SageMaker;
using Strata.Emulators.Jobs;
using static Strata.Aws.Tests.SageMaker.EmulatorHarness;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>The SageMaker and CloudWatch Logs clients against the emulator, which runs each job as a real process.</summary>
public sealed class TrainingJobTests : IDisposable
{
    private readonly TempDirectory _temp = new("strata-sagemaker-test");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_job_runs_a_real_process_with_its_environment_and_completes()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        var output = _temp.Combine("out.txt");

        var arn = await aws.SageMaker.CreateTrainingJobAsync(
            Job(name, "printf '%s|%s' \"$GREETING\" \"$TRAINING_JOB_NAME\" > \"$OUT_FILE\"",
                environment: new Dictionary<string, string> { ["GREETING"] = "héllo from the job", ["OUT_FILE"] = output }),
            CancellationToken.None);
        var (seen, final) = await aws.WaitAsync(name);

        Assert.Equal($"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}", arn);
        Assert.Equal($"héllo from the job|{name}", await File.ReadAllTextAsync(output));
        Assert.Equal("Completed", final.TrainingJobStatus);
        Assert.Equal("Completed", final.SecondaryStatus);
        Assert.Null(final.FailureReason);
        Assert.Equal(["Starting", "Downloading", "Training", "Uploading", "Completed"], final.SecondaryStatusTransitions!.Select(t => t.Status));
        Assert.All(final.SecondaryStatusTransitions!, t => Assert.NotNull(t.EndTime));
        Assert.NotNull(final.TrainingStartTime);
        Assert.True(final.TrainingEndTime >= final.TrainingStartTime);
        Assert.Equal("s3://strata-bucket/training-output/" + name + "/output/model.tar.gz", final.ModelArtifacts!.S3ModelArtifacts);
        Assert.Equal("héllo from the job", final.Environment!["GREETING"]);
        Assert.Equal(["/bin/sh", "-c"], final.AlgorithmSpecification!.ContainerEntrypoint);
        Assert.Equal(("Completed", "Completed"), seen[^1]);
        Assert.All(seen[..^1], s => Assert.Equal("InProgress", s.Status));
    }

    [Fact]
    public async Task Describe_reports_the_states_in_order_while_the_job_trains()
    {
        await using var aws = await StartAsync(o => o.PhaseDelay = TimeSpan.FromMilliseconds(200));
        var name = NewName();

        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "sleep 1"), CancellationToken.None);
        var (seen, final) = await aws.WaitAsync(name);

        // What the polls saw came in order, the job in progress until it completed. A 200 ms phase can fall between two
        // polls on a loaded machine, but the one-second training cannot.
        string[] order = ["Starting", "Downloading", "Training", "Uploading", "Completed"];
        Assert.Equal(seen.Select(s => s.Secondary).OrderBy(s => Array.IndexOf(order, s)), seen.Select(s => s.Secondary));
        Assert.Contains(("InProgress", "Training"), seen);
        Assert.All(seen[..^1], s => Assert.Equal("InProgress", s.Status));
        Assert.Equal(("Completed", "Completed"), seen[^1]);
        // The job's own record has every transition, in order.
        Assert.Equal(order, final.SecondaryStatusTransitions!.Select(t => t.Status));
    }

    [Fact]
    public async Task Logs_come_back_page_by_page_with_next_tokens()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "for i in $(seq 1 25); do echo \"line $i\"; done; echo 'to stderr' >&2"), CancellationToken.None);
        await aws.WaitAsync(name);

        var streams = await aws.Logs.TrainingJobStreamsAsync(name, CancellationToken.None);
        var stream = Assert.Single(streams).LogStreamName;
        Assert.Matches($"^{name}/algo-1-[0-9]{{10}}$", stream);

        var lines = new List<string>();
        string? token = null;
        var pages = 0;
        while (true)
        {
            var page = await aws.Logs.GetLogEventsAsync(new GetLogEventsRequest
            {
                LogGroupName = CloudWatchLogsClient.TrainingJobsLogGroup,
                LogStreamName = stream,
                NextToken = token,
                StartFromHead = true,
                Limit = 10,
            }, CancellationToken.None);
            if (page.NextForwardToken == token) { Assert.Empty(page.Events); break; } // the end: the same token comes back
            lines.AddRange(page.Events.Select(e => e.Message));
            token = page.NextForwardToken;
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(26, lines.Count);
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"line {i}"), lines.Where(l => l.StartsWith("line", StringComparison.Ordinal)));
        Assert.Contains("to stderr", lines);

        var (all, next) = await aws.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream, null, CancellationToken.None);
        Assert.Equal(lines, all.Select(e => e.Message));
        var (more, same) = await aws.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream, next, CancellationToken.None);
        Assert.Empty(more);
        Assert.Equal(next, same);

        // Without a token and from the tail (startFromHead false): the last events, and a backward token to page back.
        var tail = await aws.Logs.GetLogEventsAsync(new GetLogEventsRequest { LogGroupName = CloudWatchLogsClient.TrainingJobsLogGroup, LogStreamName = stream, Limit = 5 }, CancellationToken.None);
        Assert.Equal(lines[^5..], tail.Events.Select(e => e.Message));
        var before = await aws.Logs.GetLogEventsAsync(new GetLogEventsRequest { LogGroupName = CloudWatchLogsClient.TrainingJobsLogGroup, LogStreamName = stream, Limit = 5, NextToken = tail.NextBackwardToken }, CancellationToken.None);
        Assert.Equal(lines[^10..^5], before.Events.Select(e => e.Message));
    }

    [Fact]
    public async Task Logs_can_be_followed_while_the_job_runs()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        var release = _temp.Combine("release");
        await aws.SageMaker.CreateTrainingJobAsync(Job(name, $"echo first; while [ ! -f '{release}' ]; do sleep 0.05; done; echo second"), CancellationToken.None);

        string? stream = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        (IReadOnlyList<OutputLogEvent> Events, string? NextToken) read = ([], null);
        while (DateTime.UtcNow < deadline)
        {
            stream ??= (await aws.Logs.TrainingJobStreamsAsync(name, CancellationToken.None)).FirstOrDefault()?.LogStreamName;
            if (stream is not null)
            {
                read = await aws.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream, null, CancellationToken.None);
                if (read.Events.Count > 0) break;
            }
            await Task.Delay(20);
        }
        Assert.Equal(["first"], read.Events.Select(e => e.Message));

        await File.WriteAllTextAsync(release, "");
        await aws.WaitAsync(name);
        var (rest, _) = await aws.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream!, read.NextToken, CancellationToken.None);
        Assert.Equal(["second"], rest.Select(e => e.Message));
    }

    [Fact]
    public async Task StopTrainingJob_sends_SIGTERM_and_the_job_ends_Stopped()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "trap 'echo got SIGTERM; exit 0' TERM; echo started; while true; do sleep 0.05; done"), CancellationToken.None);

        var stopped = false;
        var (_, final) = await aws.WaitAsync(name, onPoll: async job =>
        {
            if (!stopped && job.SecondaryStatus == "Training" && aws.Emulator.LogStream(name) is { } s && aws.Emulator.LogMessages("/aws/sagemaker/TrainingJobs", s).Contains("started"))
            {
                await aws.SageMaker.StopTrainingJobAsync(name, CancellationToken.None);
                stopped = true;
            }
        });

        Assert.Equal("Stopped", final.TrainingJobStatus);
        Assert.Equal("Stopped", final.SecondaryStatus);
        Assert.Null(final.FailureReason);
        Assert.Equal(["Starting", "Downloading", "Training", "Stopping", "Stopped"], final.SecondaryStatusTransitions!.Select(t => t.Status));
        Assert.Contains("got SIGTERM", aws.Emulator.LogMessages("/aws/sagemaker/TrainingJobs", aws.Emulator.LogStream(name)!));

        var again = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.StopTrainingJobAsync(name, CancellationToken.None));
        Assert.Equal("ValidationException", again.ErrorCode);
    }

    [Fact]
    public async Task A_process_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        await using var aws = await StartAsync(o => o.StopGracePeriod = TimeSpan.FromMilliseconds(300));
        var name = NewName();
        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "trap '' TERM; while true; do sleep 0.05; done"), CancellationToken.None);

        var stopped = false;
        var (_, final) = await aws.WaitAsync(name, TimeSpan.FromSeconds(20), async job =>
        {
            if (!stopped && job.SecondaryStatus == "Training")
            {
                await aws.SageMaker.StopTrainingJobAsync(name, CancellationToken.None);
                stopped = true;
            }
        });

        Assert.Equal(("Stopped", "Stopped"), (final.TrainingJobStatus, final.SecondaryStatus));
    }

    [Fact]
    public async Task MaxRuntimeInSeconds_stops_a_job_that_runs_too_long()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        var started = DateTime.UtcNow;

        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "sleep 30", maxRuntimeSeconds: 1), CancellationToken.None);
        var (seen, final) = await aws.WaitAsync(name, TimeSpan.FromSeconds(20));

        Assert.Equal("Stopped", final.TrainingJobStatus);
        Assert.Equal("MaxRuntimeExceeded", final.SecondaryStatus);
        Assert.Equal(["Starting", "Downloading", "Training", "Stopping", "MaxRuntimeExceeded"], final.SecondaryStatusTransitions!.Select(t => t.Status));
        Assert.Equal(("InProgress", "Training"), seen.Last(s => s.Status == "InProgress"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_non_zero_exit_fails_the_job_with_a_reason()
    {
        await using var aws = await StartAsync();
        var plain = NewName();
        var withFile = NewName();

        await aws.SageMaker.CreateTrainingJobAsync(Job(plain, "echo working; exit 3"), CancellationToken.None);
        // A training container explains a failure in /opt/ml/output/failure (here: output/failure in the job directory).
        await aws.SageMaker.CreateTrainingJobAsync(Job(withFile, "echo 'CUDA out of memory' > output/failure; exit 1"), CancellationToken.None);
        var (_, failed) = await aws.WaitAsync(plain);
        var (_, explained) = await aws.WaitAsync(withFile);

        Assert.Equal(("Failed", "Failed"), (failed.TrainingJobStatus, failed.SecondaryStatus));
        Assert.Equal("AlgorithmError: The training process exited with code 3. See the job logs for more information.", failed.FailureReason);
        Assert.Equal("AlgorithmError: CUDA out of memory", explained.FailureReason);
        Assert.Equal("Failed", explained.SecondaryStatusTransitions![^1].Status);
    }

    [Fact]
    public async Task An_image_the_emulator_cannot_pull_fails_the_job()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        var request = Job(name, "true") with
        {
            AlgorithmSpecification = Job(name, "true").AlgorithmSpecification with { TrainingImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1" },
        };

        await aws.SageMaker.CreateTrainingJobAsync(request, CancellationToken.None);
        var (_, final) = await aws.WaitAsync(name);

        Assert.Equal("Failed", final.TrainingJobStatus);
        Assert.StartsWith("ClientError:", final.FailureReason);
        Assert.Empty(await aws.Logs.TrainingJobStreamsAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task An_image_without_a_command_runs_its_entrypoint_with_train()
    {
        var output = _temp.Combine("argv.txt");
        await using var aws = await StartAsync(o => o.Images["plain:1"] = new EmulatedImage { Entrypoint = ["/bin/sh", "-c", $"echo \"$0\" > '{output}'"] });
        var name = NewName();
        var request = Job(name, "unused") with
        {
            AlgorithmSpecification = new AlgorithmSpecification { TrainingImage = "plain:1", TrainingInputMode = "File" },
        };

        await aws.SageMaker.CreateTrainingJobAsync(request, CancellationToken.None);
        await aws.WaitAsync(name);

        Assert.Equal("train", (await File.ReadAllTextAsync(output)).Trim());
    }

    [Fact]
    public async Task Job_names_are_unique_and_unknown_jobs_are_not_found()
    {
        await using var aws = await StartAsync();
        var name = NewName();
        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "true"), CancellationToken.None);

        var duplicate = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.CreateTrainingJobAsync(Job(name.ToUpperInvariant(), "true"), CancellationToken.None));
        var missing = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.DescribeTrainingJobAsync("no-such-job", CancellationToken.None));
        var stopMissing = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.StopTrainingJobAsync("no-such-job", CancellationToken.None));

        Assert.Equal("ResourceInUse", duplicate.ErrorCode);
        Assert.Contains("must be unique", duplicate.ErrorMessage);
        Assert.Equal("ValidationException", missing.ErrorCode);
        Assert.Equal("Requested resource not found.", missing.ErrorMessage);
        Assert.True(SageMakerClient.IsNotFound(missing));
        Assert.True(SageMakerClient.IsNotFound(stopMissing));
        Assert.False(SageMakerClient.IsNotFound(duplicate));
        await aws.WaitAsync(name);
    }

    [Fact]
    public async Task Unknown_log_streams_and_groups_are_not_found()
    {
        await using var aws = await StartAsync();

        var stream = await Assert.ThrowsAsync<AwsServiceException>(() => aws.Logs.GetLogEventsAsync(
            new GetLogEventsRequest { LogGroupName = CloudWatchLogsClient.TrainingJobsLogGroup, LogStreamName = "nope/algo-1-1" }, CancellationToken.None));
        var group = await Assert.ThrowsAsync<AwsServiceException>(() => aws.Logs.DescribeLogStreamsAsync(
            new DescribeLogStreamsRequest { LogGroupName = "/aws/sagemaker/Nope" }, CancellationToken.None));

        Assert.Equal(("ResourceNotFoundException", "The specified log stream does not exist."), (stream.ErrorCode, stream.ErrorMessage));
        Assert.Equal(("ResourceNotFoundException", "The specified log group does not exist."), (group.ErrorCode, group.ErrorMessage));
    }
}
