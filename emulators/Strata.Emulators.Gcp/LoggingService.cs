using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Strata.Emulators.Gcp;

/// <summary>One log entry of a job, as Cloud Logging keeps it.</summary>
internal sealed record LogEntry(string Project, string JobId, string TaskName, string Severity, string Text, DateTimeOffset Timestamp, string InsertId)
{
    public string LogName => TaskName.Length > 0 ? $"projects/{Project}/logs/{TaskName}" : $"projects/{Project}/logs/ml.googleapis.com%2F{JobId}";

    /// <summary>A field of the entry as filters name it.</summary>
    public string? Field(string path) => path switch
    {
        "resource.type" => "ml_job",
        "resource.labels.job_id" => JobId,
        "resource.labels.project_id" => Project,
        "resource.labels.task_name" => TaskName.Length > 0 ? TaskName : null,
        "timestamp" or "receiveTimestamp" => Timestamps.Format(Timestamp),
        "insertId" => InsertId,
        "severity" => Severity,
        "logName" => LogName,
        "textPayload" => Text,
        _ => null,
    };

    public JsonObject ToJson()
    {
        var labels = new JsonObject { ["job_id"] = JobId, ["project_id"] = Project };
        if (TaskName.Length > 0) labels["task_name"] = TaskName;
        return new JsonObject
        {
            ["insertId"] = InsertId,
            ["logName"] = LogName,
            ["resource"] = new JsonObject { ["type"] = "ml_job", ["labels"] = labels },
            ["textPayload"] = Text,
            ["timestamp"] = Timestamps.Format(Timestamp),
            ["receiveTimestamp"] = Timestamps.Format(Timestamp),
            ["severity"] = Severity,
        };
    }
}

/// <summary>RFC 3339 timestamps as Google's APIs write them (UTC, microseconds).</summary>
internal static class Timestamps
{
    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>
/// Cloud Logging's <c>POST /v2/entries:list</c> over the entries of the emulator's jobs (resource type <c>ml_job</c>): the
/// request's fields checked (unknown ones refused), the filter applied, ordered by timestamp, paged.
/// </summary>
internal sealed class LoggingService(VertexEmulatorOptions options, TokenService tokens, Action<GcpRequestBody> record) : IGcpService
{
    public const string Operation = "logging.entries.list";

    private static readonly HashSet<string> Fields = new(StringComparer.Ordinal)
    {
        "resourceNames", "resource_names", "projectIds", "project_ids", "filter", "orderBy", "order_by", "pageSize", "page_size", "pageToken", "page_token",
    };

    private readonly List<LogEntry> _entries = [];
    private readonly Dictionary<string, LogEntry[]> _pages = new(StringComparer.Ordinal);
    private readonly Queue<string> _snapshots = new();
    private long _sequence;

    public void Append(string project, string jobId, string taskName, string severity, string text)
    {
        lock (_entries)
            _entries.Add(new LogEntry(project, jobId, taskName, severity, text, options.Time.GetUtcNow(),
                (++_sequence).ToString("D12", CultureInfo.InvariantCulture)));
    }

    public IReadOnlyList<LogEntry> Entries(string jobId)
    {
        lock (_entries) return _entries.Where(e => e.JobId == jobId).ToArray();
    }

    public string? OperationOf(HttpRequest request) => request.Path.Value == "/v2/entries:list" ? Operation : null;

    public bool Faults(string operation) => true;

    public async Task HandleAsync(HttpContext context, string operation)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
        record(new GcpRequestBody(operation, context.Request.Path, 0, body, options.Time.GetUtcNow()));
        tokens.Authenticate(context.Request);
        if (!HttpMethods.IsPost(context.Request.Method)) throw new GcpApiException(404, "NOT_FOUND", "entries:list takes POST.");
        if (JsonNode.Parse(body.Length == 0 ? "{}" : body) is not JsonObject request)
            throw new GcpApiException(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.");
        foreach (var (key, _) in request)
            if (!Fields.Contains(key))
                throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. Unknown name \"{key}\": Cannot find field.");
        var resources = ((request["resourceNames"] ?? request["resource_names"]) as JsonArray)?.Select(n => (string)n!).ToList() ?? [];
        resources.AddRange(((request["projectIds"] ?? request["project_ids"]) as JsonArray)?.Select(n => $"projects/{(string)n!}") ?? []);
        if (resources.Count == 0)
            throw new GcpApiException(400, "INVALID_ARGUMENT", "Field: resource_names; Message: Required field is not set.");
        var projects = resources.Select(r => r.StartsWith("projects/", StringComparison.Ordinal) ? r[9..] : null).ToArray();
        var filter = LogFilter.Parse((string?)request["filter"]);
        var order = ((string?)(request["orderBy"] ?? request["order_by"]) ?? "timestamp asc").Trim();
        if (order is not ("timestamp asc" or "timestamp desc" or "timestamp"))
            throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid order_by \"{order}\": only \"timestamp asc\" and \"timestamp desc\" are allowed.");
        var size = Math.Clamp(Number(request["pageSize"] ?? request["page_size"]) ?? 50, 1, 1000);
        // A query's matches are taken once; its pages are read from that snapshot (a page token names it and an offset).
        var token = (string?)(request["pageToken"] ?? request["page_token"]);
        LogEntry[] matching;
        var offset = 0;
        if (token is not null && token.Split(':') is [var snapshot, var at] && int.TryParse(at, CultureInfo.InvariantCulture, out offset))
        {
            lock (_pages)
                matching = _pages.GetValueOrDefault(snapshot) ?? throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid page token \"{token}\".");
        }
        else
        {
            if (token is not null) throw new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid page token \"{token}\".");
            lock (_entries) matching = _entries.Where(e => projects.Contains(e.Project) && filter.Matches(e.Field)).ToArray();
            if (order == "timestamp desc") Array.Reverse(matching);
        }
        var page = matching.Skip(offset).Take(size).ToArray();
        var response = new JsonObject { ["entries"] = new JsonArray(page.Select(e => (JsonNode)e.ToJson()).ToArray()) };
        if (offset + page.Length < matching.Length)
        {
            var id = token?.Split(':')[0] ?? Guid.NewGuid().ToString("N");
            lock (_pages)
            {
                if (_pages.TryAdd(id, matching))
                {
                    _snapshots.Enqueue(id);
                    while (_snapshots.Count > 64) _pages.Remove(_snapshots.Dequeue()); // the oldest listings, most likely abandoned
                }
            }
            response["nextPageToken"] = $"{id}:{(offset + page.Length).ToString(CultureInfo.InvariantCulture)}";
        }
        if (page.Length == 0) response.Remove("entries"); // proto3 JSON leaves out empty lists
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(response.ToJsonString(), context.RequestAborted);
    }

    private static int? Number(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.TryGetValue<string>(out var s) && int.TryParse(s, CultureInfo.InvariantCulture, out var i) => i,
        _ => null,
    };

    public Task WriteErrorAsync(HttpContext context, GcpApiException error) => VertexService.WriteRpcErrorAsync(context, error);
}
