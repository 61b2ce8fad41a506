using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Gcp;

/// <summary>
/// The Google Cloud Storage JSON API (v1) on a loopback port, in memory: buckets (insert, get, list, delete), objects
/// (media, multipart and resumable uploads, gzip-encoded request bodies, metadata, ranged downloads, list with prefix,
/// delimiter and page tokens, patch, delete, copy, rewrite, compose), the generation preconditions with 412, errors in
/// Google's JSON shape, injected 429/503 faults and a log of requests. Enough for the Google .NET client and for
/// <c>gcloud storage</c>, with credentials disabled.
/// </summary>
public sealed class GcsEmulator : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = false };

    private readonly GcsEmulatorOptions _options;
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StoredBucket> _buckets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UploadSession> _uploads = new(StringComparer.Ordinal);
    private readonly List<GcsRequest> _requests = [];
    private readonly FaultDice _dice;
    private readonly List<IGcpService> _services = [];
    private long _generation = 1_700_000_000_000_000;

    private GcsEmulator(GcsEmulatorOptions options, WebApplication app)
    {
        _options = options;
        _app = app;
        _dice = new FaultDice(options.RandomSeed);
    }

    /// <summary>The base URL (http://127.0.0.1:&lt;port&gt;/); the JSON API is under <c>storage/v1/</c>, uploads under <c>upload/storage/v1/</c>.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public GcsEmulatorOptions Options => _options;

    /// <summary>Share of requests answered with 429; may change while running.</summary>
    public double ThrottleRate { get => _options.ThrottleRate; set => _options.ThrottleRate = value; }

    /// <summary>Share of requests answered with 503; may change while running.</summary>
    public double ServerErrorRate { get => _options.ServerErrorRate; set => _options.ServerErrorRate = value; }

    /// <summary>Every request answered so far, in order.</summary>
    public IReadOnlyList<GcsRequest> Requests
    {
        get { lock (_requests) return _requests.ToArray(); }
    }

    public static Task<GcsEmulator> StartAsync(GcsEmulatorOptions options, CancellationToken cancellationToken = default) =>
        StartAsync(options, [], cancellationToken);

    /// <summary>Starts the emulator with more APIs on the same endpoint (Vertex AI, Cloud Logging, OAuth tokens).</summary>
    internal static async Task<GcsEmulator> StartAsync(GcsEmulatorOptions options, IReadOnlyList<IGcpService> services,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var emulator = new GcsEmulator(options, app);
        emulator._services.AddRange(services);
        app.Run(emulator.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.Endpoint = new Uri(address.TrimEnd('/') + "/");
        return emulator;
    }

    /// <summary>Creates a bucket (no error when it exists).</summary>
    public void CreateBucket(string name)
    {
        lock (_lock) _buckets.TryAdd(name, new StoredBucket(name, TimeProvider.System.GetUtcNow()));
    }

    /// <summary>The live bytes of an object; null when absent.</summary>
    public byte[]? ObjectContent(string bucket, string name)
    {
        lock (_lock) return _buckets.TryGetValue(bucket, out var b) && b.Objects.TryGetValue(name, out var o) ? o.Data : null;
    }

    /// <summary>User metadata of an object; null when absent.</summary>
    public IReadOnlyDictionary<string, string>? ObjectMetadata(string bucket, string name)
    {
        lock (_lock) return _buckets.TryGetValue(bucket, out var b) && b.Objects.TryGetValue(name, out var o) ? new Dictionary<string, string>(o.Metadata) : null;
    }

    /// <summary>Names of a bucket's objects under a prefix, sorted.</summary>
    public IReadOnlyList<string> ObjectNames(string bucket, string prefix = "")
    {
        lock (_lock)
            return _buckets.TryGetValue(bucket, out var b) ? b.Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToArray() : [];
    }

    /// <summary>
    /// Replaces an object's bytes behind the API's back, keeping its metadata (a new generation, as a stray write or a
    /// failing disk would leave it). False when there is no such object.
    /// </summary>
    public bool ReplaceContent(string bucket, string name, byte[] content)
    {
        lock (_lock)
        {
            if (!_buckets.TryGetValue(bucket, out var b) || !b.Objects.TryGetValue(name, out var old)) return false;
            var replaced = StoredObject.Create(bucket, name, content, NextGeneration(), TimeProvider.System.GetUtcNow());
            replaced.ContentType = old.ContentType;
            replaced.Metadata = new Dictionary<string, string>(old.Metadata);
            b.Objects[name] = replaced;
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- dispatch ----

    private sealed class ApiException(int status, string reason, string message) : Exception(message)
    {
        public int Status => status;
        public string Reason => reason;
    }

    private static ApiException NotFound(string message) => new(404, "notFound", message);

    private static ApiException BadRequest(string message) => new(400, "invalid", message);

    private async Task HandleAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        var rawPath = q < 0 ? raw : raw[..q];
        var query = context.Request.Query;
        var segments = rawPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var operation = "unknown";
        int status;
        string? reason = null;
        foreach (var service in _services)
            if (service.OperationOf(context.Request) is { } serviceOperation)
            {
                (status, reason) = await HandleAsync(context, service, serviceOperation);
                Record(new GcsRequest(context.Request.Method, rawPath, serviceOperation, status, reason, TimeProvider.System.GetUtcNow()));
                return;
            }
        try
        {
            operation = OperationOf(context.Request.Method, segments, query);
            var fault = Fault();
            if (fault is not null) throw fault;
            await DispatchAsync(context, operation, segments, query);
            status = context.Response.StatusCode;
        }
        catch (ApiException e)
        {
            status = e.Status;
            reason = e.Reason;
            await WriteErrorAsync(context, e.Status, e.Reason, e.Message);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException)
        {
            status = 400;
            reason = "parseError";
            await WriteErrorAsync(context, 400, "parseError", $"Parse Error: {e.Message}");
        }
        Record(new GcsRequest(context.Request.Method, rawPath, operation, status, reason, TimeProvider.System.GetUtcNow()));
    }

    private void Record(GcsRequest request)
    {
        lock (_requests) _requests.Add(request);
        _options.OnRequest?.Invoke(request);
    }

    /// <summary>A request for another API on this endpoint: the fault dice, then the service; its errors in its own shape.</summary>
    private async Task<(int Status, string? Reason)> HandleAsync(HttpContext context, IGcpService service, string operation)
    {
        try
        {
            if (service.Faults(operation) && Fault() is { } fault)
                throw new GcpApiException(fault.Status, GcpApiException.StatusOf(fault.Status), fault.Message);
            await service.HandleAsync(context, operation);
            return (context.Response.StatusCode, null);
        }
        catch (GcpApiException e)
        {
            await service.WriteErrorAsync(context, e);
            return (e.Code, e.Status);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException)
        {
            var error = new GcpApiException(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. {e.Message}");
            await service.WriteErrorAsync(context, error);
            return (400, error.Status);
        }
    }

    private ApiException? Fault()
    {
        return _dice.Roll(_options.ThrottleRate, _options.ServerErrorRate) switch
        {
            InjectedFault.Throttle => new ApiException(429, "rateLimitExceeded", "The rate of requests exceeds the rate limit (injected by the emulator)."),
            InjectedFault.ServerError => new ApiException(503, "backendError", "Backend Error (injected by the emulator)."),
            _ => null,
        };
    }

    /// <summary>The JSON API method a request is for, e.g. <c>objects.get/media</c>, or throws 404 for a path the API does not have.</summary>
    private static string OperationOf(string method, string[] s, IQueryCollection query)
    {
        // storage/v1/b..., upload/storage/v1/b..., download/storage/v1/b...
        var (kind, at) = s switch
        {
            ["storage", "v1", ..] => ("api", 2),
            ["upload", "storage", "v1", ..] => ("upload", 3),
            ["resumable", "upload", "storage", "v1", ..] => ("upload", 4), // gcloud starts its resumable uploads here
            ["download", "storage", "v1", ..] => ("download", 3),
            _ => ("", -1),
        };
        if (at < 0 || s.Length <= at || s[at] != "b")
            throw NotFound($"Not Found: {method} /{string.Join('/', s)} is not a Cloud Storage JSON API path.");
        var rest = s[(at + 1)..];
        if (kind == "upload")
        {
            if (rest.Length != 2 || rest[1] != "o" || method is not ("POST" or "PUT" or "DELETE"))
                throw NotFound("Not Found: uploads go to /upload/storage/v1/b/BUCKET/o.");
            var type = query["uploadType"].ToString();
            if (query.ContainsKey("upload_id")) return method == "DELETE" ? "objects.insert/resumable-cancel" : "objects.insert/resumable-data";
            return type switch
            {
                "media" or "multipart" or "resumable" => "objects.insert/" + type,
                _ => throw BadRequest($"Unsupported uploadType '{type}': use media, multipart or resumable."),
            };
        }
        if (rest.Length == 0)
            return method switch { "GET" => "buckets.list", "POST" => "buckets.insert", _ => throw NotFound("Not Found") };
        if (rest.Length == 1)
            return method switch { "GET" => "buckets.get", "DELETE" => "buckets.delete", "PATCH" => "buckets.patch", _ => throw NotFound("Not Found") };
        if (rest[1] != "o") throw NotFound($"Not Found: /{string.Join('/', s)}");
        if (rest.Length == 2)
            return method == "GET" ? "objects.list" : throw NotFound("Not Found");
        // b/{bucket}/o/{object...}[/copyTo|rewriteTo/b/{bucket}/o/{object...}] or [/compose]
        if (method == "POST")
        {
            var target = Array.FindIndex(rest, 3, x => x is "copyTo" or "rewriteTo");
            if (target > 0) return "objects." + rest[target].Replace("To", "", StringComparison.Ordinal);
            if (rest[^1] == "compose") return "objects.compose";
            throw NotFound("Not Found");
        }
        var media = kind == "download" || query["alt"] == "media";
        return method switch
        {
            "GET" => media ? "objects.get/media" : "objects.get",
            "DELETE" => "objects.delete",
            "PATCH" or "PUT" => "objects.patch",
            _ => throw NotFound("Not Found"),
        };
    }

    private async Task DispatchAsync(HttpContext context, string operation, string[] s, IQueryCollection query)
    {
        var at = s[0] switch { "storage" => 3, "resumable" => 5, _ => 4 }; // index of the bucket name
        var bucket = s.Length > at ? s[at] : "";
        var objectName = s.Length > at + 2 ? string.Join('/', s[(at + 2)..]) : "";
        switch (operation)
        {
            case "buckets.list":
            {
                JsonArray items;
                lock (_lock) items = new JsonArray(_buckets.Values.OrderBy(b => b.Name, StringComparer.Ordinal).Select(b => (JsonNode)b.ToJson(BaseUri(context), _options.Project)).ToArray());
                await WriteJsonAsync(context, 200, new JsonObject { ["kind"] = "storage#buckets", ["items"] = items });
                return;
            }
            case "buckets.insert":
            {
                var body = await ReadJsonAsync(context);
                var name = body["name"]?.GetValue<string>() ?? throw new ApiException(400, "required", "Required: the bucket's name.");
                StoredBucket created;
                lock (_lock)
                {
                    if (_buckets.ContainsKey(name))
                        throw new ApiException(409, "conflict", "Your previous request to create the named bucket succeeded and you already own it.");
                    _buckets[name] = created = new StoredBucket(name, TimeProvider.System.GetUtcNow());
                }
                await WriteJsonAsync(context, 200, created.ToJson(BaseUri(context), _options.Project));
                return;
            }
            case "buckets.get":
            case "buckets.patch":
                await WriteJsonAsync(context, 200, Bucket(bucket).ToJson(BaseUri(context), _options.Project));
                return;
            case "buckets.delete":
                lock (_lock)
                {
                    var b = Bucket(bucket);
                    if (b.Objects.Count > 0) throw new ApiException(409, "conflict", "The bucket you tried to delete is not empty.");
                    _buckets.Remove(bucket);
                }
                context.Response.StatusCode = 204;
                return;
            case "objects.list":
                await ListAsync(context, bucket, query);
                return;
            case "objects.get":
                await WriteJsonAsync(context, 200, Get(bucket, objectName, query).ToJson(BaseUri(context)));
                return;
            case "objects.get/media":
                await DownloadAsync(context, Get(bucket, objectName, query));
                return;
            case "objects.delete":
                lock (_lock)
                {
                    var o = Get(bucket, objectName, query);
                    Bucket(bucket).Objects.Remove(o.Name);
                }
                context.Response.StatusCode = 204;
                return;
            case "objects.patch":
                await PatchAsync(context, bucket, objectName, query);
                return;
            case "objects.insert/media":
            {
                var name = query["name"].ToString();
                if (name.Length == 0) throw new ApiException(400, "required", "Required: the object's name (name=).");
                var resource = new JsonObject { ["name"] = name };
                if (context.Request.ContentType is { Length: > 0 } type) resource["contentType"] = type;
                var data = await ReadBodyAsync(context);
                await WriteJsonAsync(context, 200, Insert(bucket, resource, data, PreconditionsOf(query)).ToJson(BaseUri(context)));
                return;
            }
            case "objects.insert/multipart":
            {
                var (resource, data) = await ReadMultipartAsync(context);
                if (query["name"].ToString() is { Length: > 0 } name) resource["name"] = name;
                await WriteJsonAsync(context, 200, Insert(bucket, resource, data, PreconditionsOf(query)).ToJson(BaseUri(context)));
                return;
            }
            case "objects.insert/resumable":
                await StartUploadAsync(context, bucket, query);
                return;
            case "objects.insert/resumable-data":
                await ContinueUploadAsync(context, query["upload_id"].ToString());
                return;
            case "objects.insert/resumable-cancel":
                lock (_lock)
                    if (!_uploads.Remove(query["upload_id"].ToString())) throw NotFound("No such upload session.");
                context.Response.StatusCode = 499;
                return;
            case "objects.copy":
            case "objects.rewrite":
                await CopyAsync(context, operation, s, at, query);
                return;
            case "objects.compose":
                await ComposeAsync(context, bucket, string.Join('/', s[(at + 2)..^1]), query);
                return;
            default:
                throw NotFound($"Not Found: {operation}");
        }
    }

    // ---- objects ----

    private StoredBucket Bucket(string name)
    {
        lock (_lock)
            return _buckets.TryGetValue(name, out var b) ? b : throw NotFound("The specified bucket does not exist.");
    }

    private StoredObject Get(string bucket, string name, IQueryCollection query)
    {
        StoredObject? o;
        lock (_lock) Bucket(bucket).Objects.TryGetValue(name, out o);
        if (o is null || (Long(query, "generation") is { } g && g != o.Generation))
            throw NotFound($"No such object: {bucket}/{name}");
        if (PreconditionsOf(query).Check(o) is { } failed) throw new ApiException(412, "conditionNotMet", failed);
        return o;
    }

    private long NextGeneration() => Interlocked.Increment(ref _generation);

    private StoredObject Insert(string bucket, JsonObject resource, byte[] data, Preconditions preconditions)
    {
        var name = resource["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name)) throw new ApiException(400, "required", "Required: the object's name.");
        if (name.Length > 1024 || name.Contains('\r') || name.Contains('\n') || name is "." or "..")
            throw BadRequest($"The object name '{name}' is not valid.");
        if (resource["crc32c"]?.GetValue<string>() is { } crc && crc != Convert.ToBase64String(Hashes.Crc32c(data)))
            throw BadRequest("Provided CRC32C \"" + crc + "\" doesn't match calculated CRC32C.");
        if (resource["md5Hash"]?.GetValue<string>() is { } md5 && md5 != Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(data)))
            throw BadRequest("Provided MD5 hash \"" + md5 + "\" doesn't match calculated MD5 hash.");
        lock (_lock)
        {
            var b = Bucket(bucket);
            b.Objects.TryGetValue(name, out var current);
            if (preconditions.Check(current) is { } failed) throw new ApiException(412, "conditionNotMet", failed);
            var o = StoredObject.Create(bucket, name, data, NextGeneration(), TimeProvider.System.GetUtcNow());
            ApplyResource(o, resource);
            b.Objects[name] = o;
            return o;
        }
    }

    private static void ApplyResource(StoredObject o, JsonObject resource)
    {
        if (resource["contentType"]?.GetValue<string>() is { } type) o.ContentType = type;
        if (resource["contentEncoding"]?.GetValue<string>() is { } encoding) o.ContentEncoding = encoding;
        if (resource["cacheControl"]?.GetValue<string>() is { } cache) o.CacheControl = cache;
        if (resource["contentDisposition"]?.GetValue<string>() is { } disposition) o.ContentDisposition = disposition;
        if (resource["metadata"] is JsonObject metadata)
            foreach (var (k, v) in metadata)
                if (v is null) o.Metadata.Remove(k);
                else o.Metadata[k] = v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString();
    }

    private async Task PatchAsync(HttpContext context, string bucket, string name, IQueryCollection query)
    {
        var body = await ReadJsonAsync(context);
        StoredObject o;
        lock (_lock)
        {
            o = Get(bucket, name, query);
            ApplyResource(o, body);
            o.Metageneration++;
            o.Updated = TimeProvider.System.GetUtcNow();
        }
        await WriteJsonAsync(context, 200, o.ToJson(BaseUri(context)));
    }

    private async Task ListAsync(HttpContext context, string bucket, IQueryCollection query)
    {
        var prefix = query["prefix"].ToString();
        var delimiter = query["delimiter"].ToString();
        var startOffset = query["startOffset"].ToString();
        var endOffset = query["endOffset"].ToString();
        var includeTrailing = query["includeTrailingDelimiter"] == "true";
        var max = (int)Math.Clamp(Long(query, "maxResults") ?? 1000, 1, 1000);
        var after = query["pageToken"].ToString() is { Length: > 0 } token ? Encoding.UTF8.GetString(Convert.FromBase64String(token)) : null;
        // One sorted sequence of objects and common prefixes, paged by the last name returned.
        var entries = new SortedDictionary<string, StoredObject?>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var (name, o) in Bucket(bucket).Objects)
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (startOffset.Length > 0 && string.CompareOrdinal(name, startOffset) < 0) continue;
                if (endOffset.Length > 0 && string.CompareOrdinal(name, endOffset) >= 0) continue;
                var cut = delimiter.Length > 0 ? name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) : -1;
                if (cut >= 0)
                {
                    var common = name[..(cut + delimiter.Length)];
                    entries.TryAdd(common, null);
                    if (includeTrailing && name == common) entries[common + "\0object"] = o;
                }
                else entries[name] = o;
            }
        }
        var page = entries.Where(e => after is null || string.CompareOrdinal(e.Key, after) > 0).Take(max + 1).ToList();
        var more = page.Count > max;
        if (more) page.RemoveAt(max);
        var baseUri = BaseUri(context);
        var result = new JsonObject
        {
            ["kind"] = "storage#objects",
            ["items"] = new JsonArray(page.Where(e => e.Value is not null).Select(e => (JsonNode)e.Value!.ToJson(baseUri)).ToArray()),
        };
        var prefixes = page.Where(e => e.Value is null).Select(e => (JsonNode)JsonValue.Create(e.Key)!).ToArray();
        if (prefixes.Length > 0) result["prefixes"] = new JsonArray(prefixes);
        if (more) result["nextPageToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(page[^1].Key));
        await WriteJsonAsync(context, 200, result);
    }

    private static async Task DownloadAsync(HttpContext context, StoredObject o)
    {
        var response = context.Response;
        var data = o.Data;
        response.Headers["x-goog-generation"] = o.Generation.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-goog-metageneration"] = o.Metageneration.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-goog-stored-content-length"] = data.LongLength.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-goog-stored-content-encoding"] = o.ContentEncoding ?? "identity";
        response.Headers["x-goog-storage-class"] = "STANDARD";
        // The whole object's hashes, also on a ranged read, as GCS sends them.
        response.Headers["x-goog-hash"] = $"crc32c={o.Crc32c},md5={o.Md5}";
        response.Headers.ETag = o.ETag;
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = o.ContentType;
        var range = context.Request.Headers.Range.ToString();
        long start = 0, end = data.LongLength - 1;
        var partial = false;
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && !range.Contains(','))
        {
            var spec = range["bytes=".Length..].Trim();
            var dash = spec.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0) throw BadRequest($"Range '{range}' is not valid.");
            var (first, last) = (spec[..dash], spec[(dash + 1)..]);
            if (first.Length == 0)
            {
                var suffix = long.Parse(last, CultureInfo.InvariantCulture);
                start = Math.Max(0, data.LongLength - suffix);
            }
            else
            {
                start = long.Parse(first, CultureInfo.InvariantCulture);
                if (last.Length > 0) end = Math.Min(end, long.Parse(last, CultureInfo.InvariantCulture));
            }
            if (start >= data.LongLength && data.LongLength > 0)
            {
                response.Headers.ContentRange = $"bytes */{data.LongLength}";
                throw new ApiException(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.");
            }
            partial = data.LongLength > 0;
        }
        if (partial)
        {
            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{data.LongLength}";
        }
        else
        {
            response.StatusCode = 200;
            (start, end) = (0, data.LongLength - 1);
        }
        var length = end - start + 1;
        response.ContentLength = length;
        if (length > 0) await response.Body.WriteAsync(data.AsMemory((int)start, (int)length), context.RequestAborted);
    }

    private async Task CopyAsync(HttpContext context, string operation, string[] s, int at, IQueryCollection query)
    {
        var marker = Array.FindIndex(s, at + 3, x => x is "copyTo" or "rewriteTo");
        var source = Get(s[at], string.Join('/', s[(at + 2)..marker]), new QueryCollection(
            query.Where(p => p.Key.StartsWith("ifSource", StringComparison.Ordinal) || p.Key == "sourceGeneration")
                .ToDictionary(p => p.Key.Replace("ifSource", "if", StringComparison.Ordinal).Replace("sourceGeneration", "generation", StringComparison.Ordinal),
                    p => p.Value)));
        if (s.Length < marker + 5 || s[marker + 1] != "b" || s[marker + 3] != "o") throw NotFound("Not Found");
        var destinationBucket = s[marker + 2];
        var resource = await ReadJsonAsync(context);
        resource["name"] = string.Join('/', s[(marker + 4)..]);
        if (resource["contentType"] is null) resource["contentType"] = source.ContentType;
        if (resource["metadata"] is null && source.Metadata.Count > 0)
        {
            var metadata = new JsonObject();
            foreach (var (k, v) in source.Metadata) metadata[k] = v;
            resource["metadata"] = metadata;
        }
        var copy = Insert(destinationBucket, resource, source.Data, PreconditionsOf(query));
        var json = copy.ToJson(BaseUri(context));
        if (operation == "objects.copy")
        {
            await WriteJsonAsync(context, 200, json);
            return;
        }
        var size = copy.Data.LongLength.ToString(CultureInfo.InvariantCulture);
        await WriteJsonAsync(context, 200, new JsonObject
        {
            ["kind"] = "storage#rewriteResponse",
            ["totalBytesRewritten"] = size,
            ["objectSize"] = size,
            ["done"] = true,
            ["resource"] = json,
        });
    }

    private async Task ComposeAsync(HttpContext context, string bucket, string name, IQueryCollection query)
    {
        var body = await ReadJsonAsync(context);
        var sources = body["sourceObjects"] as JsonArray ?? throw new ApiException(400, "required", "Required: sourceObjects.");
        if (sources.Count is 0 or > 32) throw BadRequest("A compose request takes from 1 to 32 source objects.");
        using var data = new MemoryStream();
        foreach (var source in sources)
        {
            var sourceName = source?["name"]?.GetValue<string>() ?? throw new ApiException(400, "required", "Required: sourceObjects[].name.");
            var conditions = new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>();
            if (source["generation"] is { } g) conditions["generation"] = g.ToString();
            if (source["objectPreconditions"]?["ifGenerationMatch"] is { } m) conditions["ifGenerationMatch"] = m.ToString();
            var part = Get(bucket, sourceName, new QueryCollection(conditions));
            data.Write(part.Data);
        }
        var resource = body["destination"] as JsonObject ?? new JsonObject();
        resource = (JsonObject)resource.DeepClone();
        resource["name"] = name;
        var composed = Insert(bucket, resource, data.ToArray(), PreconditionsOf(query));
        await WriteJsonAsync(context, 200, composed.ToJson(BaseUri(context)));
    }

    // ---- resumable uploads ----

    private async Task StartUploadAsync(HttpContext context, string bucket, IQueryCollection query)
    {
        Bucket(bucket);
        var body = await ReadBodyAsync(context);
        var resource = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body) as JsonObject ?? throw BadRequest("The upload's metadata is not a JSON object.");
        if (query["name"].ToString() is { Length: > 0 } name) resource["name"] = name;
        if (resource["name"] is null) throw new ApiException(400, "required", "Required: the object's name.");
        if (resource["contentType"] is null && context.Request.Headers["X-Upload-Content-Type"].ToString() is { Length: > 0 } type)
            resource["contentType"] = type;
        var session = new UploadSession { Bucket = bucket, Resource = resource, Preconditions = PreconditionsOf(query) };
        if (long.TryParse(context.Request.Headers["X-Upload-Content-Length"].ToString(), CultureInfo.InvariantCulture, out var total)) session.Total = total;
        var id = Guid.NewGuid().ToString("n");
        lock (_lock) _uploads[id] = session;
        var location = new Uri(BaseUri(context), $"upload/storage/v1/b/{Uri.EscapeDataString(bucket)}/o?uploadType=resumable&upload_id={id}");
        context.Response.Headers.Location = location.ToString();
        context.Response.Headers["X-GUploader-UploadID"] = id;
        context.Response.StatusCode = 200;
        context.Response.ContentLength = 0;
    }

    private async Task ContinueUploadAsync(HttpContext context, string id)
    {
        UploadSession? session;
        lock (_lock) _uploads.TryGetValue(id, out session);
        if (session is null) throw NotFound("No such upload session (it finished, was cancelled or never existed).");
        var chunk = await ReadBodyAsync(context);
        var contentRange = context.Request.Headers.ContentRange.ToString();
        long? start = null;
        long? total = session.Total;
        if (contentRange.Length > 0)
        {
            // bytes a-b/total, bytes a-b/*, bytes */total, bytes */*
            if (!contentRange.StartsWith("bytes ", StringComparison.Ordinal)) throw BadRequest($"Content-Range '{contentRange}' is not valid.");
            var spec = contentRange["bytes ".Length..].Trim();
            var slash = spec.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) throw BadRequest($"Content-Range '{contentRange}' is not valid.");
            var (range, size) = (spec[..slash], spec[(slash + 1)..]);
            if (size != "*") total = long.Parse(size, CultureInfo.InvariantCulture);
            if (range != "*")
            {
                var dash = range.IndexOf('-', StringComparison.Ordinal);
                start = long.Parse(range[..dash], CultureInfo.InvariantCulture);
                var end = long.Parse(range[(dash + 1)..], CultureInfo.InvariantCulture);
                if (end - start + 1 != chunk.Length)
                    throw BadRequest($"Content-Range '{contentRange}' says {end - start + 1} bytes, but the body has {chunk.Length}.");
            }
        }
        else
        {
            start = 0; // the whole object in one request
            total = chunk.Length;
        }
        StoredObject? done = null;
        lock (_lock)
        {
            var received = session.Data.Length;
            if (start is { } s)
            {
                if (s > received)
                    throw BadRequest($"The upload has {received} bytes; a chunk starting at {s} leaves a gap.");
                var skip = (int)(received - s); // bytes resent after a lost response are taken once
                if (skip < chunk.Length) session.Data.Write(chunk, skip, chunk.Length - skip);
            }
            session.Total = total;
            if (total is { } t && session.Data.Length > t)
                throw BadRequest($"The upload has {session.Data.Length} bytes, more than its declared size {t}.");
            if (total is { } whole && session.Data.Length == whole)
            {
                done = Insert(session.Bucket, session.Resource, session.Data.ToArray(), session.Preconditions);
                _uploads.Remove(id);
            }
        }
        if (done is not null)
        {
            await WriteJsonAsync(context, 200, done.ToJson(BaseUri(context)));
            return;
        }
        var have = session.Data.Length;
        if (have > 0) context.Response.Headers["Range"] = $"bytes=0-{have - 1}";
        context.Response.StatusCode = 308;
        context.Response.ContentLength = 0;
    }

    // ---- bodies ----

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        using var buffer = new MemoryStream();
        if (encoding.Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            await using var gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress, leaveOpen: true);
            await gzip.CopyToAsync(buffer, context.RequestAborted);
        }
        else
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        return buffer.ToArray();
    }

    private static async Task<JsonObject> ReadJsonAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        if (body.Length == 0) return new JsonObject();
        return JsonNode.Parse(body) as JsonObject ?? throw BadRequest("The request body is not a JSON object.");
    }

    /// <summary>A multipart/related body: the object's JSON metadata, then its bytes.</summary>
    private static async Task<(JsonObject Resource, byte[] Data)> ReadMultipartAsync(HttpContext context)
    {
        var type = context.Request.ContentType ?? "";
        var boundaryAt = type.IndexOf("boundary=", StringComparison.OrdinalIgnoreCase);
        if (!type.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) || boundaryAt < 0)
            throw BadRequest("A multipart upload needs Content-Type multipart/related with a boundary.");
        var boundary = type[(boundaryAt + "boundary=".Length)..].Split(';')[0].Trim().Trim('"', '\'');
        // Python's email package (gcloud) quotes the boundary in single quotes: boundary='===...=='
        var body = await ReadBodyAsync(context);
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var parts = new List<(Dictionary<string, string> Headers, byte[] Content)>();
        var at = IndexOf(body, delimiter, 0);
        while (at >= 0)
        {
            var from = at + delimiter.Length;
            if (from + 1 < body.Length && body[from] == '-' && body[from + 1] == '-') break; // closing delimiter
            if (from + 1 < body.Length && body[from] == '\r' && body[from + 1] == '\n') from += 2;
            else if (from < body.Length && body[from] == '\n') from += 1;
            var next = IndexOf(body, delimiter, from);
            if (next < 0) throw BadRequest("The multipart body has no closing boundary.");
            var end = next;
            if (end >= 2 && body[end - 2] == '\r' && body[end - 1] == '\n') end -= 2;
            else if (end >= 1 && body[end - 1] == '\n') end -= 1;
            var part = body.AsSpan(from, end - from);
            var split = IndexOf(part, "\r\n\r\n"u8, 0);
            var separator = 4;
            if (split < 0) { split = IndexOf(part, "\n\n"u8, 0); separator = 2; }
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (split < 0) { split = 0; separator = 0; }
            foreach (var line in Encoding.UTF8.GetString(part[..split]).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (line.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon)
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            parts.Add((headers, part[(split + separator)..].ToArray()));
            at = next;
        }
        if (parts.Count != 2) throw BadRequest($"A multipart upload has two parts (metadata, then media); this one has {parts.Count}.");
        var resource = JsonNode.Parse(parts[0].Content) as JsonObject ?? throw BadRequest("The first part is not a JSON object.");
        var data = parts[1].Content;
        if (parts[1].Headers.TryGetValue("Content-Transfer-Encoding", out var transfer) && transfer.Equals("base64", StringComparison.OrdinalIgnoreCase))
            data = Convert.FromBase64String(Encoding.ASCII.GetString(data));
        if (resource["contentType"] is null && parts[1].Headers.TryGetValue("Content-Type", out var mediaType)) resource["contentType"] = mediaType;
        return (resource, data);
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle, int from)
    {
        var i = haystack[from..].IndexOf(needle);
        return i < 0 ? -1 : from + i;
    }

    private static Preconditions PreconditionsOf(IQueryCollection query) =>
        new(Long(query, "ifGenerationMatch"), Long(query, "ifGenerationNotMatch"), Long(query, "ifMetagenerationMatch"), Long(query, "ifMetagenerationNotMatch"));

    private static long? Long(IQueryCollection query, string name)
    {
        var text = query[name].ToString();
        if (text.Length == 0) return null;
        return long.TryParse(text, CultureInfo.InvariantCulture, out var v) ? v : throw BadRequest($"Invalid value for {name}: '{text}'.");
    }

    private static Uri BaseUri(HttpContext context) => new($"http://{context.Request.Host}/");

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(body.ToJsonString(Indented), context.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string reason, string message)
    {
        if (context.Response.HasStarted) return;
        context.Response.Headers.Remove("x-goog-hash");
        await WriteJsonAsync(context, status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject { ["message"] = message, ["domain"] = "global", ["reason"] = reason }),
            },
        });
    }
}
