using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Gcp;

/// <summary>
/// Vertex AI's JobService custom-job methods over REST v1, routed and checked by aiplatform's own protos.json: create, get,
/// list (filter, paging), cancel, delete. Each job runs its first worker pool's container for real through QUEUED, PENDING and
/// RUNNING to SUCCEEDED or FAILED (or CANCELLING and CANCELLED), its output kept as Cloud Logging entries.
/// </summary>
internal sealed class VertexService : IGcpService, IAsyncDisposable
{
    public const string JobService = "google.cloud.aiplatform.v1.JobService";

    /// <summary>Google's system parameters, allowed on every REST call.</summary>
    private static readonly HashSet<string> SystemParameters = new(StringComparer.Ordinal)
    {
        "alt", "$alt", "fields", "$fields", "key", "prettyPrint", "$prettyPrint", "quotaUser", "access_token", "oauth_token", "callback", "$callback",
        "upload_protocol", "uploadType", "$.xgafv", "trace", "userIp", "pp",
    };

    private readonly VertexEmulatorOptions _options;
    private readonly ProtoSchema _schema;
    private readonly IReadOnlyList<ProtoSchema.Route> _routes;
    private readonly TokenService _tokens;
    private readonly LoggingService _logs;
    private readonly Action<GcpRequestBody> _record;
    private readonly string _workDirectory;
    private readonly Dictionary<string, VertexJob> _jobs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private long _nextId = 1_000_000_000_000_000_000 + Random.Shared.NextInt64(1_000_000_000);

    public VertexService(VertexEmulatorOptions options, TokenService tokens, LoggingService logs, Action<GcpRequestBody> record, string workDirectory)
    {
        _options = options;
        _schema = ProtoSchema.Load(options.ProtosPath);
        _routes = _schema.Routes(JobService);
        _tokens = tokens;
        _logs = logs;
        _record = record;
        _workDirectory = workDirectory;
    }

    /// <summary>Every OUTPUT_ONLY field a request set (ignored, as Google ignores them), as proto paths.</summary>
    public List<string> IgnoredOutputOnly { get; } = [];

    internal sealed class VertexJob
    {
        public required string Id { get; init; }
        public required string Project { get; init; }
        public required string Location { get; init; }
        public required JsonObject Resource { get; init; }
        public required string Directory { get; init; }
        public string State { get; set; } = "JOB_STATE_QUEUED";
        public JsonObject? Error { get; set; }
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Updated { get; set; }
        public DateTimeOffset? Started { get; set; }
        public DateTimeOffset? Ended { get; set; }
        public JobProcess? Process { get; set; }
        public bool Deleted { get; set; }
        public TaskCompletionSource CancelRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Runner { get; set; } = Task.CompletedTask;
        public string Name => $"projects/{Project}/locations/{Location}/customJobs/{Id}";
    }

    public string? OperationOf(HttpRequest request)
    {
        var path = request.Path.Value ?? "";
        if (!path.StartsWith("/v1/", StringComparison.Ordinal) && !path.StartsWith("/v1beta1/", StringComparison.Ordinal)) return null;
        foreach (var route in _routes)
            if (route.Verb == request.Method && route.Pattern.IsMatch(path)) return "aiplatform." + route.Method;
        return "aiplatform.unknown";
    }

    public bool Faults(string operation) => true;

    public async Task HandleAsync(HttpContext context, string operation)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
        _record(new GcpRequestBody(operation, context.Request.Path + context.Request.QueryString, 0, body, _options.Time.GetUtcNow()));
        _tokens.Authenticate(context.Request);
        var path = context.Request.Path.Value!;
        var route = _routes.FirstOrDefault(r => "aiplatform." + r.Method == operation)
            ?? throw new GcpApiException(404, "NOT_FOUND", $"The requested URL {path} was not found on this server (the emulator serves the custom-job " +
                "methods of Vertex AI's JobService).");
        var match = route.Pattern.Match(path);
        var request = RequestOf(context, route, body);
        JsonNode? response = route.Method switch
        {
            "CreateCustomJob" => Create(match.Groups["parent"].Value, request),
            "GetCustomJob" => ToJson(Find(match.Groups["name"].Value)),
            "ListCustomJobs" => List(match.Groups["parent"].Value, context.Request.Query),
            "CancelCustomJob" => Cancel(match.Groups["name"].Value),
            "DeleteCustomJob" => Delete(match.Groups["name"].Value),
            _ => throw new GcpApiException(501, "UNIMPLEMENTED", $"{route.Method} is not implemented by the emulator."),
        };
        if (_options.LoseNextResponse.Remove(route.Method))
            throw new GcpApiException(503, "UNAVAILABLE", "The service is currently unavailable (the emulator lost the answer of a call that took effect).");
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync((response ?? new JsonObject()).ToJsonString(), context.RequestAborted);
    }

    /// <summary>The request message: the body checked where the route takes one, the query parameters checked against the request's fields.</summary>
    private JsonObject? RequestOf(HttpContext context, ProtoSchema.Route route, string body)
    {
        var requestType = _schema.Find(route.RequestType)!;
        var fields = (JsonObject)requestType["fields"]!;
        foreach (var (key, _) in context.Request.Query)
        {
            if (SystemParameters.Contains(key)) continue;
            var name = fields.ContainsKey(key) ? key : ProtoSchema.Camel(key);
            if (!fields.ContainsKey(name) || route.Body == "*")
                throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. Unknown name \"{key}\": Cannot bind query parameter. " +
                    $"Field '{key}' could not be found in request message.");
        }
        if (route.Body is null)
        {
            if (body.Trim().Length > 0)
                throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. {route.Method} takes no body.");
            return null;
        }
        var json = JsonNode.Parse(body.Trim().Length == 0 ? "{}" : body);
        if (route.Body == "*")
            return _schema.Check(json, route.RequestType, "", IgnoredOutputOnly, "name", "parent");
        var bodyField = ProtoSchema.Camel(route.Body);
        var type = _schema.Resolve(route.RequestType, (string)fields[bodyField]!["type"]!);
        return _schema.Check(json, type, route.Body, IgnoredOutputOnly);
    }

    private JsonObject Create(string parent, JsonObject? resource)
    {
        var (project, location) = Parent(parent);
        var now = _options.Time.GetUtcNow();
        VertexJob job;
        lock (_jobs)
        {
            var id = (++_nextId).ToString(CultureInfo.InvariantCulture);
            job = new VertexJob
            {
                Id = id,
                Project = project,
                Location = location,
                Resource = resource!,
                Directory = Path.Combine(_workDirectory, id),
                Created = now,
                Updated = now,
            };
            _jobs[id] = job;
        }
        job.Runner = Task.Run(() => RunAsync(job));
        return ToJson(job);
    }

    private static (string Project, string Location) Parent(string parent)
    {
        var s = parent.Split('/');
        return (s[1], s[3]);
    }

    private VertexJob Find(string name)
    {
        var s = name.Split('/');
        lock (_jobs)
            return _jobs.TryGetValue(s[^1], out var job) && !job.Deleted && job.Project == s[1] && job.Location == s[3]
                ? job
                : throw new GcpApiException(404, "NOT_FOUND", $"The CustomJob does not exist: {name}");
    }

    /// <summary>The job by its numeric id (tests).</summary>
    public VertexJob? Job(string id)
    {
        lock (_jobs) return _jobs.GetValueOrDefault(id);
    }

    public IReadOnlyList<VertexJob> Jobs()
    {
        lock (_jobs) return _jobs.Values.ToArray();
    }

    private JsonObject List(string parent, IQueryCollection query)
    {
        var (project, location) = Parent(parent);
        var filter = LogFilter.Parse(query["filter"].FirstOrDefault());
        var size = int.TryParse(query["pageSize"].FirstOrDefault() ?? query["page_size"].FirstOrDefault(), CultureInfo.InvariantCulture, out var n)
            ? Math.Clamp(n, 1, 1000) : 100;
        var offset = int.TryParse(query["pageToken"].FirstOrDefault() ?? query["page_token"].FirstOrDefault(), CultureInfo.InvariantCulture, out var o)
            ? o : 0;
        JsonObject[] all;
        lock (_jobs)
            all = _jobs.Values.Where(j => !j.Deleted && j.Project == project && j.Location == location).OrderByDescending(j => j.Created)
                .Select(ToJson).ToArray();
        var matching = all.Where(j => filter.Matches(field => FieldOf(j, field))).ToArray();
        var page = matching.Skip(offset).Take(size).ToArray();
        var response = new JsonObject();
        if (page.Length > 0) response["customJobs"] = new JsonArray(page.Select(j => (JsonNode)j).ToArray());
        if (offset + page.Length < matching.Length) response["nextPageToken"] = (offset + page.Length).ToString(CultureInfo.InvariantCulture);
        return response;
    }

    /// <summary>A field of a job for AIP-160 filters: <c>display_name</c>, <c>state</c>, <c>labels.KEY</c>, <c>create_time</c>, ...</summary>
    private static string? FieldOf(JsonObject job, string field)
    {
        if (field.StartsWith("labels.", StringComparison.Ordinal)) return (string?)job["labels"]?[field[7..]];
        var name = ProtoSchema.Camel(field);
        return job[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    private JsonObject Cancel(string name)
    {
        var job = Find(name);
        lock (job)
        {
            if (job.State is "JOB_STATE_CANCELLING" or "JOB_STATE_CANCELLED") return [];
            if (job.State is "JOB_STATE_SUCCEEDED" or "JOB_STATE_FAILED")
                throw new GcpApiException(400, "FAILED_PRECONDITION", $"Cannot cancel CustomJob \"{job.Name}\" since it is in state {job.State}.");
            Transition(job, "JOB_STATE_CANCELLING");
            job.CancelRequested.TrySetResult();
        }
        return [];
    }

    private JsonObject Delete(string name)
    {
        var job = Find(name);
        lock (job)
        {
            if (job.State is not ("JOB_STATE_SUCCEEDED" or "JOB_STATE_FAILED" or "JOB_STATE_CANCELLED"))
                throw new GcpApiException(400, "FAILED_PRECONDITION", $"CustomJob \"{job.Name}\" is in state {job.State}; only ended jobs can be deleted.");
            job.Deleted = true;
        }
        return new JsonObject
        {
            ["name"] = $"{job.Name}/operations/{job.Id}",
            ["done"] = true,
            ["response"] = new JsonObject { ["@type"] = "type.googleapis.com/google.protobuf.Empty" },
        };
    }

    private JsonObject ToJson(VertexJob job)
    {
        lock (job)
        {
            var json = (JsonObject)job.Resource.DeepClone();
            json["name"] = job.Name;
            json["state"] = job.State;
            json["createTime"] = Timestamps.Format(job.Created);
            json["updateTime"] = Timestamps.Format(job.Updated);
            if (job.Started is { } started) json["startTime"] = Timestamps.Format(started);
            if (job.Ended is { } ended) json["endTime"] = Timestamps.Format(ended);
            if (job.Error is not null) json["error"] = job.Error.DeepClone();
            return json;
        }
    }

    private void Transition(VertexJob job, string state)
    {
        // Caller holds the job's lock.
        job.State = state;
        job.Updated = _options.Time.GetUtcNow();
        if (state is "JOB_STATE_SUCCEEDED" or "JOB_STATE_FAILED" or "JOB_STATE_CANCELLED") job.Ended = job.Updated;
    }

    private void End(VertexJob job, string state, int code = 0, string? message = null)
    {
        lock (job)
        {
            if (message is not null) job.Error = new JsonObject { ["code"] = code, ["message"] = message };
            Transition(job, state);
        }
        _logs.Append(job.Project, job.Id, "", state == "JOB_STATE_SUCCEEDED" ? "INFO" : "ERROR", state switch
        {
            "JOB_STATE_SUCCEEDED" => "Job completed successfully.",
            "JOB_STATE_CANCELLED" => "Job was cancelled.",
            _ => $"Job failed. {message}",
        });
    }

    private async Task RunAsync(VertexJob job)
    {
        try
        {
            var pool = (JsonObject)((JsonArray)job.Resource["jobSpec"]!["workerPoolSpecs"]!)[0]!;
            var machine = (string?)pool["machineSpec"]?["machineType"] ?? "n1-standard-4";
            _logs.Append(job.Project, job.Id, "", "INFO", "Waiting for job to be provisioned.");
            if (!await PhaseAsync(job)) { End(job, "JOB_STATE_CANCELLED", 1, $"CustomJob {job.Name} was cancelled."); return; }
            lock (job) { if (!job.CancelRequested.Task.IsCompleted) Transition(job, "JOB_STATE_PENDING"); }
            if (_options.UnavailableMachineTypes.Contains(machine))
            {
                _logs.Append(job.Project, job.Id, "", "WARNING", $"Resources are insufficient in region: {job.Location}. The zone does not have enough " +
                    $"resources available to fulfill the request ({machine}). Job will be retried.");
                await job.CancelRequested.Task.WaitAsync(_shutdown.Token);
            }
            if (!await PhaseAsync(job)) { End(job, "JOB_STATE_CANCELLED", 1, $"CustomJob {job.Name} was cancelled."); return; }

            var container = pool["containerSpec"] as JsonObject;
            var image = (string?)container?["imageUri"];
            if (image is not null && !_options.Images.ContainsKey(image) && _options.ContainerRunner is { Count: > 0 })
                _options.Images.TryAdd(image, new EmulatedImage { ContainerImage = image });
            if (image is null || !_options.Images.TryGetValue(image, out var emulated))
            {
                End(job, "JOB_STATE_FAILED", 3, $"Unable to pull the image {image ?? "(none: the emulator runs containerSpec only)"}: not found, or the " +
                    "service account cannot read it.");
                return;
            }
            Directory.CreateDirectory(job.Directory);
            JobProcess process;
            lock (job)
            {
                if (job.CancelRequested.Task.IsCompleted) { Transition(job, "JOB_STATE_CANCELLED"); return; }
                process = JobProcess.Start(Command(job, container!, emulated), line => _logs.Append(job.Project, job.Id, "workerpool0-0", "INFO", line));
                job.Process = process;
                job.Started = _options.Time.GetUtcNow();
                Transition(job, "JOB_STATE_RUNNING");
            }
            _logs.Append(job.Project, job.Id, "", "INFO", "Job is running.");

            var timeout = (string?)job.Resource["jobSpec"]?["scheduling"]?["timeout"] is { } t ? Seconds(t) : TimeSpan.FromDays(7);
            var timedOut = Task.Delay(timeout, _options.Time, _shutdown.Token);
            var ended = await Task.WhenAny(process.Exited, job.CancelRequested.Task, timedOut);
            if (ended != process.Exited)
                await process.TerminateAsync(Task.Delay(_options.StopGracePeriod, _options.Time, _shutdown.Token));
            await process.KillAsync();
            await process.WaitForExitAsync(_shutdown.Token);
            if (ended == job.CancelRequested.Task)
                End(job, "JOB_STATE_CANCELLED", 1, $"CustomJob {job.Name} was cancelled.");
            else if (ended == timedOut)
                End(job, "JOB_STATE_FAILED", 4, $"The job exceeded its scheduling.timeout of {(string?)job.Resource["jobSpec"]!["scheduling"]!["timeout"]} " +
                    "and was stopped.");
            else if (process.ExitCode != 0)
                End(job, "JOB_STATE_FAILED", 3, $"The replica workerpool0-0 exited with a non-zero status of {process.ExitCode.ToString(CultureInfo.InvariantCulture)}. " +
                    "To find out more about why your job exited please check the logs.");
            else
                End(job, "JOB_STATE_SUCCEEDED");
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // the emulator is shutting down
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            End(job, "JOB_STATE_FAILED", 3, $"Unable to start the container: {e.Message}");
        }
        catch (Exception e)
        {
            // A bug of the emulator: end the job visibly rather than leave it running forever.
            End(job, "JOB_STATE_FAILED", 13, $"Internal error of the emulator: {e}");
        }
    }

    private JobCommand Command(VertexJob job, JsonObject container, EmulatedImage image)
    {
        var command = Strings(container["command"]);
        var args = Strings(container["args"]);
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, v) in image.Environment ?? new Dictionary<string, string>()) environment[k] = v;
        foreach (var (k, v) in _options.JobEnvironment) environment[k] = v;
        foreach (var e in container["env"] as JsonArray ?? []) environment[(string)e!["name"]!] = (string?)e["value"];
        environment["CLOUD_ML_JOB_ID"] = job.Id;
        environment["CLOUD_ML_PROJECT_ID"] = job.Project;
        environment["CLOUD_ML_REGION"] = job.Location;
        return new JobCommand(command ?? image.Entrypoint ?? [], args ?? (command is null ? image.Arguments ?? [] : []), environment,
            image.WorkingDirectory ?? job.Directory)
        {
            Image = image.ContainerImage,
            ContainerRunner = _options.ContainerRunner,
            RunnerEnvironment = _options.ContainerRunnerEnvironment,
            InheritEnvironment = _options.InheritEnvironment,
        };
    }

    private static string[]? Strings(JsonNode? node) => node is JsonArray a && a.Count > 0 ? a.Select(x => (string)x!).ToArray() : null;

    private static TimeSpan Seconds(string duration) =>
        TimeSpan.FromSeconds(double.Parse(duration.TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture));

    /// <summary>Waits one phase; false when the job was cancelled meanwhile.</summary>
    private async Task<bool> PhaseAsync(VertexJob job)
    {
        await Task.WhenAny(Task.Delay(_options.PhaseDelay, _options.Time, _shutdown.Token), job.CancelRequested.Task);
        _shutdown.Token.ThrowIfCancellationRequested();
        return !job.CancelRequested.Task.IsCompleted;
    }

    public Task WriteErrorAsync(HttpContext context, GcpApiException error) => WriteRpcErrorAsync(context, error);

    /// <summary>Google's REST error shape: <c>{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}</c>.</summary>
    public static async Task WriteRpcErrorAsync(HttpContext context, GcpApiException error)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = error.Code;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(error.ToJson().ToJsonString(), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        await JobProcess.StopAllAsync(Jobs().Select(j => (j.Process, j.Runner)).ToArray());
        _shutdown.Dispose();
    }
}
