using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Aws;

/// <summary>
/// SageMaker training jobs run for real: each job's image maps to a local command that runs as a process with the
/// job's environment, through SageMaker's states (InProgress → Completed | Failed, or Stopping → Stopped) and secondary
/// statuses, its output going to the job's CloudWatch log stream.
/// </summary>
internal sealed class TrainingJobs(SageMakerEmulatorOptions options, LogStore logs, ServiceModel model, string workDirectory) : IAsyncDisposable
{
    public const string LogGroup = "/aws/sagemaker/TrainingJobs";

    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();

    private DateTimeOffset Now => options.Time.GetUtcNow();

    internal sealed class Job
    {
        public required string Name { get; init; }
        public required string Arn { get; init; }
        public required JsonObject Request { get; init; }
        public required string Directory { get; init; }
        public required DateTimeOffset CreationTime { get; init; }
        public string Status { get; set; } = "InProgress";
        public string Secondary { get; set; } = "Starting";
        public string? FailureReason { get; set; }
        public DateTimeOffset LastModified { get; set; }
        public DateTimeOffset? TrainingStart { get; set; }
        public DateTimeOffset? TrainingEnd { get; set; }
        public List<(string Status, DateTimeOffset Start, DateTimeOffset? End, string Message)> Transitions { get; } = [];
        public string? LogStream { get; set; }
        public JobProcess? Process { get; set; }
        /// <summary>Why the job is being stopped: Stopped (StopTrainingJob) or MaxRuntimeExceeded; null while it may run.</summary>
        public string? StopReason { get; set; }
        /// <summary>Set when a stop is requested; continuations never run under the job's lock.</summary>
        public TaskCompletionSource StopRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Runner { get; set; } = Task.CompletedTask;
        public int? ExitCode { get; set; }
    }

    public JsonObject Create(JsonObject request)
    {
        var name = (string)request["TrainingJobName"]!;
        var arn = $"arn:aws:sagemaker:{options.Region}:{options.AccountId}:training-job/{name.ToLowerInvariant()}";
        Job job;
        lock (_jobs)
        {
            // Names are unique per account and region, case-insensitively (ARNs are lower-case).
            if (_jobs.Values.FirstOrDefault(j => j.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } existing)
                throw new EmulatedAwsException(400, "ResourceInUse",
                    $"Training job names must be unique within an AWS account and region, and a training job with this name already exists ({existing.Arn})");
            var now = Now;
            job = new Job
            {
                Name = name,
                Arn = arn,
                Request = (JsonObject)request.DeepClone(),
                Directory = Path.Combine(workDirectory, name),
                CreationTime = now,
                LastModified = now,
            };
            job.Transitions.Add(("Starting", now, null, "Launching requested ML instances"));
            _jobs[name] = job;
        }
        job.Runner = Task.Run(() => RunAsync(job));
        return new JsonObject { ["TrainingJobArn"] = arn };
    }

    public JsonObject Describe(string name)
    {
        var job = Find(name);
        var output = model.OutputOf("DescribeTrainingJob")!;
        var response = new JsonObject();
        // Everything the request gave that the response also carries (AlgorithmSpecification, RoleArn, Environment, ...).
        foreach (var (member, value) in job.Request)
            if (output.Members.ContainsKey(member) && value is not null) response[member] = value.DeepClone();
        lock (job)
        {
            response["TrainingJobName"] = job.Name;
            response["TrainingJobArn"] = job.Arn;
            response["TrainingJobStatus"] = job.Status;
            response["SecondaryStatus"] = job.Secondary;
            if (job.FailureReason is not null) response["FailureReason"] = job.FailureReason;
            var outputPath = ((string)job.Request["OutputDataConfig"]!["S3OutputPath"]!).TrimEnd('/');
            response["ModelArtifacts"] = new JsonObject { ["S3ModelArtifacts"] = $"{outputPath}/{job.Name}/output/model.tar.gz" };
            response["CreationTime"] = Seconds(job.CreationTime);
            response["LastModifiedTime"] = Seconds(job.LastModified);
            if (job.TrainingStart is { } start) response["TrainingStartTime"] = Seconds(start);
            if (job.TrainingEnd is { } end)
            {
                response["TrainingEndTime"] = Seconds(end);
                if (job.TrainingStart is { } trained)
                {
                    var seconds = Math.Max(1, (int)Math.Ceiling((end - trained).TotalSeconds)); // billed per started second
                    response["TrainingTimeInSeconds"] = seconds;
                    response["BillableTimeInSeconds"] = seconds;
                }
            }
            response["SecondaryStatusTransitions"] = new JsonArray(job.Transitions.Select(t =>
            {
                var o = new JsonObject { ["Status"] = t.Status, ["StartTime"] = Seconds(t.Start), ["StatusMessage"] = t.Message };
                if (t.End is { } e) o["EndTime"] = Seconds(e);
                return (JsonNode)o;
            }).ToArray());
        }
        return response;
    }

    public void Stop(string name)
    {
        var job = Find(name);
        lock (job)
        {
            if (job.Status == "Stopping") return;
            if (job.Status != "InProgress")
                throw new EmulatedAwsException(400, "ValidationException", $"The request was rejected because the training job is in status {job.Status}.");
            RequestStop(job, "Stopped");
        }
    }

    /// <summary>The job's directory, which stands in for the container's /opt/ml.</summary>
    public string DirectoryOf(string name) => Find(name).Directory;

    public string? LogStreamOf(string name)
    {
        var job = Find(name);
        lock (job) return job.LogStream;
    }

    private Job Find(string name)
    {
        lock (_jobs)
            return _jobs.TryGetValue(name, out var job) ? job : throw new EmulatedAwsException(400, "ValidationException", "Requested resource not found.");
    }

    private void RequestStop(Job job, string reason)
    {
        // Caller holds the job's lock.
        if (job.StopReason is not null || job.Status != "InProgress") return;
        job.StopReason = reason;
        Transition(job, "Stopping", "Stopping", reason == "MaxRuntimeExceeded"
            ? "The job reached its MaxRuntimeInSeconds and is being stopped"
            : "Stopping the training job");
        job.StopRequested.TrySetResult();
    }

    private void Transition(Job job, string status, string secondary, string message)
    {
        // Caller holds the job's lock.
        var now = Now;
        job.Status = status;
        if (job.Secondary != secondary || job.Transitions.Count == 0)
        {
            if (job.Transitions.Count > 0)
            {
                var last = job.Transitions[^1];
                job.Transitions[^1] = (last.Status, last.Start, now, last.Message);
            }
            job.Transitions.Add((secondary, now, null, message));
        }
        job.Secondary = secondary;
        job.LastModified = now;
        if (status is "Completed" or "Failed" or "Stopped")
        {
            job.TrainingEnd = now;
            var last = job.Transitions[^1];
            job.Transitions[^1] = (last.Status, last.Start, now, last.Message);
        }
    }

    private async Task RunAsync(Job job)
    {
        try
        {
            if (!await PhaseAsync(job)) { Finish(job); return; }
            lock (job) { if (job.StopReason is null) Transition(job, "InProgress", "Downloading", "Downloading input data"); }
            if (!await PhaseAsync(job)) { Finish(job); return; }

            var spec = (JsonObject)job.Request["AlgorithmSpecification"]!;
            var image = (string?)spec["TrainingImage"];
            if (image is not null && !options.Images.ContainsKey(image) && options.ContainerRunner is { Count: > 0 })
                options.Images.TryAdd(image, new EmulatedImage { ContainerImage = image, Environment = options.ContainerEnvironment });
            if (image is null || !options.Images.TryGetValue(image, out var emulated))
            {
                lock (job)
                {
                    job.FailureReason = $"ClientError: Cannot find the training image '{image ?? (string?)spec["AlgorithmName"]}'. Check the image name and that the role can pull it.";
                    Transition(job, "Failed", "Failed", $"Training job failed. Reason: {job.FailureReason}");
                }
                return;
            }

            Directory.CreateDirectory(Path.Combine(job.Directory, "model"));
            Directory.CreateDirectory(Path.Combine(job.Directory, "output"));
            Directory.CreateDirectory(Path.Combine(job.Directory, "input", "config"));
            await File.WriteAllTextAsync(Path.Combine(job.Directory, "input", "config", "hyperparameters.json"),
                (job.Request["HyperParameters"] ?? new JsonObject()).ToJsonString());

            JobProcess process;
            lock (job)
            {
                if (job.StopReason is not null) { FinishLocked(job); return; }
                job.LogStream = $"{job.Name}/algo-1-{Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
                logs.CreateStream(LogGroup, job.LogStream);
                try
                {
                    process = StartProcess(job, spec, emulated);
                }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
                {
                    job.FailureReason = $"ClientError: Unable to start the training container: {e.Message}";
                    Transition(job, "Failed", "Failed", $"Training job failed. Reason: {job.FailureReason}");
                    return;
                }
                job.Process = process;
                job.TrainingStart = Now;
                Transition(job, "InProgress", "Training", "Training image download completed. Training in progress.");
            }

            var maxRuntime = (int?)job.Request["StoppingCondition"]?["MaxRuntimeInSeconds"];
            using var runtime = new CancellationTokenSource();
            if (maxRuntime is { } seconds)
                _ = Task.Delay(TimeSpan.FromSeconds(seconds), options.Time, runtime.Token).ContinueWith(t =>
                {
                    if (t.IsCompletedSuccessfully) lock (job) RequestStop(job, "MaxRuntimeExceeded");
                }, TaskScheduler.Default);

            // As in a container: SIGTERM goes to the main process; when it ends, everything else it started ends too.
            if (await Task.WhenAny(process.Exited, job.StopRequested.Task) == job.StopRequested.Task && !process.HasExited)
                await process.TerminateAsync(Task.Delay(options.StopGracePeriod, options.Time, _shutdown.Token));
            await process.KillAsync(); // the whole process group
            await process.WaitForExitAsync(_shutdown.Token); // and the last of its output
            await runtime.CancelAsync();
            lock (job) job.ExitCode = process.ExitCode;

            lock (job)
            {
                if (job.StopReason is not null) { FinishLocked(job); return; }
                if (process.ExitCode != 0)
                {
                    var failureFile = Path.Combine(job.Directory, "output", "failure");
                    var detail = File.Exists(failureFile) ? File.ReadAllText(failureFile).Trim() : "";
                    job.FailureReason = detail.Length > 0
                        ? $"AlgorithmError: {Truncate(detail, 1000)}"
                        : $"AlgorithmError: The training process exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}. See the job logs for more information.";
                    Transition(job, "Failed", "Failed", $"Training job failed. Reason: {job.FailureReason}");
                    return;
                }
                Transition(job, "InProgress", "Uploading", "Uploading generated training model");
            }
            await Task.Delay(options.PhaseDelay, options.Time, _shutdown.Token);
            lock (job) Transition(job, "Completed", "Completed", "Training job completed");
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // the emulator is shutting down
        }
        catch (Exception e)
        {
            // A bug of the emulator: end the job visibly rather than leave it running forever.
            lock (job)
            {
                job.FailureReason = $"InternalServerError: the emulator failed running the job: {e}";
                Transition(job, "Failed", "Failed", "Training job failed. Reason: InternalServerError");
            }
        }
    }

    /// <summary>Waits one phase; false when the job was stopped meanwhile.</summary>
    private async Task<bool> PhaseAsync(Job job)
    {
        var phase = Task.Delay(options.PhaseDelay, options.Time, _shutdown.Token);
        await Task.WhenAny(phase, job.StopRequested.Task);
        _shutdown.Token.ThrowIfCancellationRequested();
        return !job.StopRequested.Task.IsCompleted;
    }

    private void Finish(Job job)
    {
        lock (job) FinishLocked(job);
    }

    /// <summary>Ends a job that was asked to stop: Stopped, with Stopped or MaxRuntimeExceeded as its secondary status.</summary>
    private void FinishLocked(Job job)
    {
        var reason = job.StopReason ?? "Stopped";
        Transition(job, "Stopped", reason, reason == "MaxRuntimeExceeded"
            ? "Training job stopped: it exceeded its MaxRuntimeInSeconds"
            : "Training job stopped");
    }

    private JobProcess StartProcess(Job job, JsonObject spec, EmulatedImage image)
    {
        var entrypoint = Strings(spec["ContainerEntrypoint"]) ?? image.Entrypoint ?? [];
        var arguments = Strings(spec["ContainerArguments"]) ?? (spec["ContainerEntrypoint"] is null ? image.Arguments ?? ["train"] : image.Arguments ?? []);
        // The image's environment, then the job's; a real image gets them from the runner (-e NAME), with the job directory at /opt/ml.
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, v) in image.Environment ?? new Dictionary<string, string>()) environment[k] = v;
        if (job.Request["Environment"] is JsonObject variables)
            foreach (var (k, v) in variables) environment[k] = (string?)v;
        environment["TRAINING_JOB_NAME"] = job.Name;
        environment["TRAINING_JOB_ARN"] = job.Arn;
        var command = new JobCommand(entrypoint, arguments, environment, image.WorkingDirectory ?? job.Directory)
        {
            Image = image.ContainerImage,
            ContainerRunner = options.ContainerRunner,
            RunnerEnvironment = options.ContainerRunnerEnvironment,
            Volumes = new Dictionary<string, string> { [job.Directory] = "/opt/ml" },
            InheritEnvironment = options.InheritEnvironment,
        };
        var stream = job.LogStream!;
        // CloudWatch holds no empty events (a message has at least one character): blank lines are not shipped.
        return JobProcess.Start(command, line => { if (line.Length > 0) logs.Append(LogGroup, stream, line); });
    }

    private static string[]? Strings(JsonNode? node) => node is JsonArray a ? a.Select(x => (string)x!).ToArray() : null;

    private static double Seconds(DateTimeOffset t) => Math.Round((t - DateTimeOffset.UnixEpoch).TotalMilliseconds) / 1000.0;

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        (JobProcess? Process, Task Runner)[] jobs;
        lock (_jobs) jobs = _jobs.Values.Select(j => (j.Process, j.Runner)).ToArray();
        await JobProcess.StopAllAsync(jobs);
        _shutdown.Dispose();
    }
}
