using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Kubernetes;

/// <summary>An answer in Kubernetes' <c>Status</c> shape.</summary>
public sealed class KubernetesStatusException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;
    public string Reason { get; } = reason;
    public JsonObject? Details { get; } = details;
}

internal sealed record ResourceType(string Name, string Singular, string Group, string Kind, bool Namespaced, string Schema, string[] ShortNames, string[] Verbs)
{
    public string GroupVersion => Group.Length == 0 ? "v1" : $"{Group}/v1";

    /// <summary>As errors name it: <c>jobs.batch</c>, <c>pods</c>.</summary>
    public string Qualified => Group.Length == 0 ? Name : $"{Name}.{Group}";

    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";
}

public sealed partial class KubernetesEmulator
{
    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    internal static readonly ResourceType[] Types =
    [
        new("namespaces", "namespace", "", "Namespace", false, "io.k8s.api.core.v1.Namespace", ["ns"], ["create", "delete", "get", "list", "patch", "update", "watch"]),
        new("pods", "pod", "", "Pod", true, "io.k8s.api.core.v1.Pod", ["po"], AllVerbs),
        new("secrets", "secret", "", "Secret", true, "io.k8s.api.core.v1.Secret", [], AllVerbs),
        new("jobs", "job", "batch", "Job", true, "io.k8s.api.batch.v1.Job", [], AllVerbs),
    ];

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var body = "";
        var bytes = Array.Empty<byte>();
        var status = 200;
        string? reason = null;
        try
        {
            if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer, context.RequestAborted);
                bytes = buffer.ToArray();
                body = Encoding.UTF8.GetString(bytes);
            }
            if (request.Headers.Authorization.ToString() != $"Bearer {Token}")
                throw new KubernetesStatusException(401, "Unauthorized", "Unauthorized");
            status = await RouteAsync(context, body, bytes);
        }
        catch (KubernetesStatusException e)
        {
            status = e.Code;
            reason = e.Reason;
            if (e.Code == 429) context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            if (!context.Response.HasStarted) await WriteJsonAsync(context, e.Code, StatusObject(e.Code, e.Reason, e.Message, e.Details));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499;
        }
        var record = new KubernetesRequest(DateTimeOffset.UtcNow, request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", status, reason, body);
        lock (_requests) _requests.Add(record);
        _options.OnRequest?.Invoke(record);
    }

    internal static JsonObject StatusObject(int code, string reason, string message, JsonObject? details = null, string status = "Failure")
    {
        var o = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = status,
            ["message"] = message,
            ["reason"] = reason,
        };
        if (status == "Success") { o.Remove("message"); o.Remove("reason"); }
        if (details is not null) o["details"] = details;
        o["code"] = code;
        return o;
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private async Task<int> RouteAsync(HttpContext context, string body, byte[] bytes)
    {
        var path = (context.Request.Path.Value ?? "/").TrimEnd('/');
        var method = context.Request.Method;
        if (method == "GET" && Discovery(path) is { } discovery)
        {
            await WriteJsonAsync(context, 200, discovery);
            return 200;
        }
        if (method == "GET" && path.StartsWith("/openapi/v3/", StringComparison.Ordinal) && Schemas.Documents.TryGetValue(path["/openapi/v3/".Length..], out var document))
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.ETag = $"\"{Hash(path)}\"";
            await context.Response.Body.WriteAsync(document, context.RequestAborted);
            return 200;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group;
        int at;
        if (segments is ["api", "v1", ..]) (group, at) = ("", 2);
        else if (segments is ["apis", "batch", "v1", ..]) (group, at) = ("batch", 3);
        else throw new KubernetesStatusException(404, "NotFound", "the server could not find the requested resource");
        var rest = segments[at..];
        string? ns = null;
        if (group.Length == 0 && rest is ["namespaces", _, _, ..]) { ns = rest[1]; rest = rest[2..]; }
        else if (group.Length > 0 && rest is ["namespaces", _, ..]) { ns = rest[1]; rest = rest[2..]; }
        if (rest.Length == 0) throw new KubernetesStatusException(404, "NotFound", "the server could not find the requested resource");
        if (method == "GET" && group.Length == 0 && rest is ["events"])
        {
            // No events are recorded; kubectl describe asks for them.
            await WriteJsonAsync(context, 200, new JsonObject
            {
                ["kind"] = "EventList",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = _store.CurrentVersion.ToString(CultureInfo.InvariantCulture) },
                ["items"] = new JsonArray(),
            });
            return 200;
        }
        var type = Types.FirstOrDefault(t => t.Name == rest[0] && t.Group == group)
            ?? throw new KubernetesStatusException(404, "NotFound", "the server could not find the requested resource");
        var name = rest.Length > 1 ? rest[1] : null;
        var sub = rest.Length > 2 ? rest[2] : null;
        if (rest.Length > 3 || (sub is not null && !(sub == "log" && type.Name == "pods") && sub != "status"))
            throw new KubernetesStatusException(404, "NotFound", "the server could not find the requested resource");
        if (type.Namespaced && ns is null && (name is not null || method != "GET"))
            throw new KubernetesStatusException(404, "NotFound", "the server could not find the requested resource");
        if (!type.Namespaced) ns = "";

        InjectFault($"{method} {path}");
        var query = context.Request.Query;
        switch (method)
        {
            case "GET" when name is null && IsTrue(query["watch"]):
                await WatchAsync(context, type, ns);
                return 200;
            case "GET" when name is null:
                await WriteObjectAsync(context, 200, type, List(type, ns, query["labelSelector"], query["fieldSelector"]));
                return 200;
            case "GET" when sub == "log":
                return await _cluster.LogsAsync(context, Find(type, ns!, name!), query);
            case "GET":
                await WriteObjectAsync(context, 200, type, Find(type, ns!, name!));
                return 200;
            case "POST" when name is null:
                var (code, created) = Create(context, type, ns!, body, bytes);
                await WriteObjectAsync(context, code, type, created);
                return code;
            case "PATCH" when name is not null && sub is null:
                var patched = Patch(context, type, ns!, name, body);
                await WriteObjectAsync(context, 200, type, patched);
                return 200;
            case "DELETE" when name is not null && sub is null:
                var (deleteCode, deleted) = await DeleteAsync(type, ns!, name, body, query);
                await WriteJsonAsync(context, deleteCode, deleted);
                return deleteCode;
            default:
                throw new KubernetesStatusException(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource");
        }
    }

    private static bool IsTrue(string? value) => value is "true" or "1";

    private static string Hash(string text) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    /// <summary>Answers a request with a random fault; <paramref name="request"/> (method and path) counts the faults its retries met in a row.</summary>
    private void InjectFault(string request)
    {
        var fault = _dice.Roll(_options.ThrottleRate, _options.ServerErrorRate, request, _options.MaxFaultsInARow);
        if (fault == InjectedFault.None) return;
        if (fault == InjectedFault.Throttle)
            throw new KubernetesStatusException(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later",
                new JsonObject { ["retryAfterSeconds"] = _options.RetryAfterSeconds });
        throw new KubernetesStatusException(500, "InternalError", "an error on the server (\"injected fault\") has prevented the request from succeeding",
            new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["message"] = "injected fault" }) });
    }

    private JsonNode? Discovery(string path) => path switch
    {
        "/version" => new JsonObject
        {
            ["major"] = "1",
            ["minor"] = "26",
            ["gitVersion"] = "v1.26.0-strata-emulator", // the Kubernetes whose OpenAPI documents the emulator holds
            ["gitCommit"] = "0000000000000000000000000000000000000000",
            ["gitTreeState"] = "clean",
            ["buildDate"] = "2026-01-01T00:00:00Z",
            ["goVersion"] = "go1.19.5",
            ["compiler"] = "gc",
            ["platform"] = "linux/amd64",
        },
        "/api" => new JsonObject
        {
            ["kind"] = "APIVersions",
            ["versions"] = new JsonArray("v1"),
            ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = $"127.0.0.1:{Endpoint.Port}" }),
        },
        "/apis" => new JsonObject
        {
            ["kind"] = "APIGroupList",
            ["apiVersion"] = "v1",
            ["groups"] = new JsonArray(new JsonObject
            {
                ["name"] = "batch",
                ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = "batch/v1", ["version"] = "v1" }),
                ["preferredVersion"] = new JsonObject { ["groupVersion"] = "batch/v1", ["version"] = "v1" },
            }),
        },
        "/apis/batch" => new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = "batch",
            ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = "batch/v1", ["version"] = "v1" }),
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = "batch/v1", ["version"] = "v1" },
        },
        "/api/v1" => ResourceList("v1", ""),
        "/apis/batch/v1" => ResourceList("batch/v1", "batch"),
        "/openapi/v3" => new JsonObject
        {
            ["paths"] = new JsonObject(Schemas.Documents.Keys.Select(k =>
                KeyValuePair.Create(k, (JsonNode?)new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{k}?hash={Hash("/openapi/v3/" + k)}" }))),
        },
        "/healthz" or "/livez" or "/readyz" => JsonValue.Create("ok"),
        _ => null,
    };

    private static JsonObject ResourceList(string groupVersion, string group)
    {
        var resources = new JsonArray();
        foreach (var t in Types.Where(t => t.Group == group))
        {
            var r = new JsonObject
            {
                ["name"] = t.Name,
                ["singularName"] = t.Singular,
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray(t.Verbs.Select(v => (JsonNode?)v).ToArray()),
            };
            if (t.ShortNames.Length > 0) r["shortNames"] = new JsonArray(t.ShortNames.Select(v => (JsonNode?)v).ToArray());
            if (t.Name is "pods" or "jobs") r["categories"] = new JsonArray("all");
            resources.Add(r);
            if (t.Name != "secrets")
                resources.Add(new JsonObject { ["name"] = $"{t.Name}/status", ["singularName"] = "", ["namespaced"] = t.Namespaced, ["kind"] = t.Kind, ["verbs"] = new JsonArray("get", "patch", "update") });
            if (t.Name == "pods")
                resources.Add(new JsonObject { ["name"] = "pods/log", ["singularName"] = "", ["namespaced"] = true, ["kind"] = "Pod", ["verbs"] = new JsonArray("get") });
        }
        return new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = resources };
    }

    private JsonObject Find(ResourceType type, string ns, string name) =>
        _store.Get(type.Name, ns, name) ?? throw NotFound(type, name);

    internal static KubernetesStatusException NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type.Qualified} \"{name}\" not found", Details(type, name));

    private static JsonObject Details(ResourceType type, string name)
    {
        var d = new JsonObject { ["name"] = name };
        if (type.Group.Length > 0) d["group"] = type.Group;
        d["kind"] = type.Name;
        return d;
    }

    private JsonObject List(ResourceType type, string? ns, string? labelSelector, string? fieldSelector)
    {
        var labels = Selector.Parse(labelSelector, out var labelError);
        var fields = Selector.Parse(fieldSelector, out var fieldError);
        if ((labelError ?? fieldError) is { } error) throw new KubernetesStatusException(400, "BadRequest", error);
        var items = new JsonArray();
        var version = _store.CurrentVersion;
        foreach (var o in _store.List(type.Name, ns))
            if (labels.Matches(Selector.Labels(o)) && fields.Matches(Selector.Fields(o)))
                items.Add(o);
        return new JsonObject
        {
            ["kind"] = type.Kind + "List",
            ["apiVersion"] = type.GroupVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        };
    }

    private async Task WriteObjectAsync(HttpContext context, int status, ResourceType type, JsonObject obj)
    {
        var accept = context.Request.Headers.Accept.ToString();
        var body = accept.Contains("as=Table", StringComparison.Ordinal) ? Tables.ToTable(type, obj) : obj;
        await WriteJsonAsync(context, status, body);
    }

    private async Task WatchAsync(HttpContext context, ResourceType type, string? ns)
    {
        var query = context.Request.Query;
        var labels = Selector.Parse(query["labelSelector"], out var labelError);
        var fields = Selector.Parse(query["fieldSelector"], out var fieldError);
        if ((labelError ?? fieldError) is { } error) throw new KubernetesStatusException(400, "BadRequest", error);
        long? from = long.TryParse(query["resourceVersion"], NumberStyles.None, CultureInfo.InvariantCulture, out var rv) && rv > 0 ? rv : null;
        var channel = _store.Watch(type.Name, from, out var initial, out var expired);
        try
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-cache, private";
            await context.Response.StartAsync(context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (expired)
            {
                await WriteEventAsync(context, "ERROR", StatusObject(410, "Expired", $"too old resource version: {from} ({_store.CurrentVersion})"));
                return;
            }
            var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            stop.CancelAfter(timeout);
            using var drop = new CancellationTokenSource();
            if (_options.DropWatchesAfter is { } after) drop.CancelAfter(after);
            using var any = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, drop.Token);
            var asTable = context.Request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);
            bool Wanted(StoreEvent e) => (ns is null || e.Namespace == ns || ns.Length == 0)
                && labels.Matches(Selector.Labels(e.Object)) && fields.Matches(Selector.Fields(e.Object));
            foreach (var e in initial.Where(Wanted))
                await WriteEventAsync(context, e.Type, asTable ? Tables.ToTable(type, e.Object) : e.Object);
            try
            {
                while (await channel.Reader.WaitToReadAsync(any.Token))
                    while (channel.Reader.TryRead(out var e))
                        if (Wanted(e)) await WriteEventAsync(context, e.Type, asTable ? Tables.ToTable(type, e.Object) : e.Object);
            }
            catch (OperationCanceledException) when (drop.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                context.Abort(); // the injected fault: the stream ends without a final chunk
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                // timeoutSeconds reached or the emulator stops: the stream ends cleanly
            }
        }
        finally
        {
            _store.StopWatching(channel);
        }
    }

    private static async Task WriteEventAsync(HttpContext context, string type, JsonObject obj)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj }.ToJsonString() + "\n";
        await context.Response.WriteAsync(line, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private (int Code, JsonObject Created) Create(HttpContext context, ResourceType type, string ns, string body, byte[] bytes)
    {
        JsonObject obj;
        try
        {
            if ((context.Request.ContentType ?? "").StartsWith(Protobuf.ContentType, StringComparison.Ordinal))
            {
                if (type.Name != "secrets")
                    throw new KubernetesStatusException(415, "UnsupportedMediaType", $"the emulator reads {Protobuf.ContentType} for secrets only; send {type.Kind} as application/json");
                obj = Protobuf.DecodeSecret(bytes);
                body = obj.ToJsonString();
            }
            else obj = JsonNode.Parse(body) as JsonObject ?? throw new KubernetesStatusException(400, "BadRequest", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
        }
        catch (Exception e) when (e is JsonException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new KubernetesStatusException(400, "BadRequest", $"the body of the request was in an unknown format: {e.Message}");
        }
        var query = context.Request.Query;
        var kind = (string?)obj["kind"];
        var apiVersion = (string?)obj["apiVersion"];
        if (string.IsNullOrEmpty(kind))
            throw new KubernetesStatusException(400, "BadRequest", $"Object 'Kind' is missing in '{Truncate(body)}'");
        if (kind != type.Kind || (apiVersion is not null && apiVersion != type.GroupVersion))
            throw new KubernetesStatusException(400, "BadRequest", $"the API version in the data ({apiVersion}) does not match the expected API version ({type.GroupVersion})");

        var findings = Schemas.Check(type.Schema, obj);
        var prefix = $"{type.Kind} in version \"v1\" cannot be handled as a {type.Kind}: ";
        if (findings.TypeErrors.Count > 0)
            throw new KubernetesStatusException(400, "BadRequest", prefix + string.Join(", ", findings.TypeErrors.Select(e => "json: cannot unmarshal " + e)));
        var validation = ((string?)query["fieldValidation"]) ?? "Warn";
        if (validation is not ("Strict" or "Warn" or "Ignore"))
            throw new KubernetesStatusException(400, "BadRequest", $"fieldValidation parameter unsupported: {validation}; must be Strict, Warn or Ignore");
        if (findings.UnknownFields.Count > 0 && validation == "Strict")
            throw new KubernetesStatusException(400, "BadRequest", prefix + "strict decoding error: " + string.Join(", ", findings.UnknownFields.Select(f => $"unknown field \"{f}\"")));
        if (findings.UnknownFields.Count > 0 && validation == "Warn")
            foreach (var f in findings.UnknownFields)
                context.Response.Headers.Append("Warning", $"299 - \"unknown field \\\"{f}\\\"\"");

        var metadata = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = metadata;
        obj["apiVersion"] = type.GroupVersion;
        if (type.Namespaced)
        {
            if ((string?)metadata["namespace"] is { Length: > 0 } given && given != ns)
                throw new KubernetesStatusException(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
            if (_store.Get("namespaces", "", ns) is null)
                throw new KubernetesStatusException(404, "NotFound", $"namespaces \"{ns}\" not found", new JsonObject { ["name"] = ns, ["kind"] = "namespaces" });
            metadata["namespace"] = ns;
        }
        var name = (string?)metadata["name"];
        if (string.IsNullOrEmpty(name) && (string?)metadata["generateName"] is { Length: > 0 } generate)
            metadata["name"] = name = generate + RandomSuffix();

        var causes = new List<(string Reason, string Message, string Field)>();
        if (string.IsNullOrEmpty(name))
            causes.Add(("FieldValueRequired", "Required value: name or generateName is required", "metadata.name"));
        else if (name.Length > 253 || !Dns1123Subdomain().IsMatch(name) || (type.Name == "jobs" && name.Length > 63))
            causes.Add(("FieldValueInvalid", $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')", "metadata.name"));
        causes.AddRange(findings.MissingRequired.Select(f => ("FieldValueRequired", "Required value", f)));
        causes.AddRange(Cluster.Validate(type, obj));
        if (causes.Count > 0)
        {
            var messages = causes.Select(c => $"{c.Field}: {c.Message}").ToList();
            var details = Details(type, name ?? "");
            details["kind"] = type.Kind;
            details["causes"] = new JsonArray(causes.Select(c => (JsonNode?)new JsonObject { ["reason"] = c.Reason, ["message"] = c.Message, ["field"] = c.Field }).ToArray());
            throw new KubernetesStatusException(422, "Invalid",
                $"{type.QualifiedKind} \"{name}\" is invalid: {(messages.Count == 1 ? messages[0] : "[" + string.Join(", ", messages) + "]")}", details);
        }

        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = Now();
        Cluster.Default(type, obj);
        if (query["dryRun"].Count > 0)
            return (201, obj);
        if (!_store.TryAdd(type.Name, ns, obj, out var stored))
            throw new KubernetesStatusException(409, "AlreadyExists", $"{type.Qualified} \"{name}\" already exists", Details(type, name!));
        _cluster.Created(type, stored);
        return (201, stored);
    }

    private async Task<(int Code, JsonObject Body)> DeleteAsync(ResourceType type, string ns, string name, string body, IQueryCollection query)
    {
        var current = Find(type, ns, name);
        string? policy = query["propagationPolicy"];
        if (body.Length > 0)
        {
            try
            {
                if (JsonNode.Parse(body) is JsonObject options)
                {
                    policy = (string?)options["propagationPolicy"] ?? policy;
                    if (options["orphanDependents"] is JsonValue orphan && orphan.TryGetValue<bool>(out var o))
                        policy ??= o ? "Orphan" : "Background";
                }
            }
            catch (JsonException e)
            {
                throw new KubernetesStatusException(400, "BadRequest", $"the body of the request was in an unknown format: {e.Message}");
            }
        }
        // batch/v1 Jobs orphan their pods unless told otherwise, for compatibility; everything else deletes in the background.
        policy ??= type.Name == "jobs" ? "Orphan" : "Background";
        if (policy is not ("Orphan" or "Background" or "Foreground"))
            throw new KubernetesStatusException(422, "Invalid", $"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
        if (query["dryRun"].Count > 0) return (200, current);
        var result = await _cluster.DeleteAsync(type, ns, name, policy);
        if (result is not null) return (200, result);
        var details = Details(type, name);
        details["uid"] = current["metadata"]!["uid"]!.DeepClone();
        return (200, StatusObject(200, "", "", details, "Success"));
    }

    /// <summary>
    /// A merge patch (application/merge-patch+json, and strategic-merge-patch+json read as one: maps merge, lists are
    /// replaced), checked against the schema; a Job's pod template and selector cannot change, as in Kubernetes.
    /// </summary>
    private JsonObject Patch(HttpContext context, ResourceType type, string ns, string name, string body)
    {
        var contentType = (context.Request.ContentType ?? "").Split(';')[0].Trim();
        if (contentType is not ("application/merge-patch+json" or "application/strategic-merge-patch+json" or "application/json-patch+json"))
            throw new KubernetesStatusException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json; not {contentType}");
        if (contentType == "application/json-patch+json")
            throw new KubernetesStatusException(415, "UnsupportedMediaType", "the emulator takes merge patches (application/merge-patch+json, application/strategic-merge-patch+json), not JSON patches");
        JsonObject patch;
        try
        {
            patch = JsonNode.Parse(body) as JsonObject ?? throw new KubernetesStatusException(400, "BadRequest", "the patch is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new KubernetesStatusException(400, "BadRequest", $"the body of the request was in an unknown format: {e.Message}");
        }
        var current = Find(type, ns, name);
        var merged = (JsonObject)current.DeepClone();
        Merge(merged, patch);
        var findings = Schemas.Check(type.Schema, merged);
        if (findings.TypeErrors.Count > 0)
            throw new KubernetesStatusException(400, "BadRequest", string.Join(", ", findings.TypeErrors));
        if (findings.UnknownFields.Count > 0 && (string?)context.Request.Query["fieldValidation"] == "Strict")
            throw new KubernetesStatusException(400, "BadRequest", "strict decoding error: " + string.Join(", ", findings.UnknownFields.Select(f => $"unknown field \"{f}\"")));
        var immutable = type.Name == "jobs"
            ? new[] { "template", "selector" }.Where(f => merged["spec"]?[f]?.ToJsonString() != current["spec"]?[f]?.ToJsonString()).ToList()
            : [];
        if (type.Name == "pods" && merged["spec"]?.ToJsonString() != current["spec"]?.ToJsonString()) immutable.Add("");
        if ((string?)merged["metadata"]?["name"] != name || (string?)merged["metadata"]?["uid"] != (string?)current["metadata"]?["uid"]) immutable.Add("metadata");
        if (immutable.Count > 0)
        {
            var field = immutable[0] == "metadata" ? "metadata.name" : immutable[0].Length == 0 ? "spec" : $"spec.{immutable[0]}";
            var details = Details(type, name);
            details["kind"] = type.Kind;
            details["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = "Invalid value: field is immutable", ["field"] = field });
            throw new KubernetesStatusException(422, "Invalid", $"{type.QualifiedKind} \"{name}\" is invalid: {field}: Invalid value: field is immutable", details);
        }
        if (context.Request.Query["dryRun"].Count > 0) return merged;
        return _store.Update(type.Name, ns, name, o =>
        {
            foreach (var key in new[] { "metadata", "spec", "data", "type" })
            {
                if (key == "metadata")
                {
                    // Only labels, annotations and finalizers of metadata are the client's to change here.
                    foreach (var m in new[] { "labels", "annotations", "finalizers" })
                        o["metadata"]![m] = merged["metadata"]?[m]?.DeepClone();
                }
                else if (merged[key] is { } value) o[key] = value.DeepClone();
            }
            if (type.Name == "jobs" && o["spec"]?.ToJsonString() != current["spec"]?.ToJsonString())
                o["metadata"]!["generation"] = ((int?)o["metadata"]!["generation"] ?? 1) + 1;
        }) ?? throw NotFound(type, name);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (key.StartsWith("$", StringComparison.Ordinal)) continue; // strategic-merge directives
            if (value is null) target.Remove(key);
            else if (value is JsonObject p && target[key] is JsonObject t) Merge(t, p);
            else target[key] = value.DeepClone();
        }
    }

    internal static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        });
    }

    private static string Truncate(string body) => body.Length > 200 ? body[..200] : body;
}
