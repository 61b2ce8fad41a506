using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Slurm;

/// <summary>Where slurmrestd listens and how to authenticate to it.</summary>
internal sealed record SlurmRestOptions
{
    /// <summary>
    /// TCP endpoint, e.g. <c>http://127.0.0.1:6820</c> (a path prefix is kept, for a reverse proxy). Exactly one of this
    /// and <see cref="UnixSocketPath"/>.
    /// </summary>
    public Uri? BaseAddress { get; init; }

    /// <summary>slurmrestd's unix socket (<c>slurmrestd unix:/path</c>), e.g. in local-auth mode.</summary>
    public string? UnixSocketPath { get; init; }

    /// <summary>X-SLURM-USER-NAME; required with a token.</summary>
    public string? UserName { get; init; }

    /// <summary>
    /// Gives the JWT sent as X-SLURM-USER-TOKEN, asked before each request so a secret reference can resolve (and
    /// rotate) it; null sends no token (local auth on a unix socket).
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; init; }

    /// <summary>The OpenAPI plugin version slurmrestd serves; this client speaks v0.0.38 (Slurm 22.05).</summary>
    public string ApiVersion { get; init; } = "v0.0.38";

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Environment every job gets before <see cref="SlurmJobSpec.Environment"/> (slurmrestd requires one).</summary>
    public IReadOnlyDictionary<string, string> BaseEnvironment { get; init; } =
        new Dictionary<string, string> { ["PATH"] = "/usr/local/bin:/usr/bin:/bin" };

    /// <summary>Working directory of jobs whose spec names none.</summary>
    public string DefaultWorkingDirectory { get; init; } = "/tmp";

    /// <summary>A JWT endpoint with a fixed token.</summary>
    public static SlurmRestOptions WithToken(Uri baseAddress, string userName, string token) =>
        new() { BaseAddress = baseAddress, UserName = userName, TokenProvider = _ => ValueTask.FromResult(token) };
}

/// <summary>
/// Talks to slurmrestd's v0.0.38 API (Slurm 22.05) over TCP or a unix socket. Request bodies are buffered JSON with a
/// Content-Type of exactly <c>application/json</c> (slurmrestd 22.05 fails on chunked bodies and on a charset).
/// </summary>
internal sealed class SlurmRestTransport : ISlurmTransport, IDisposable
{
    // Slurm error numbers seen in slurmrestd replies.
    private const int InvalidJobId = 2017;          // ESLURM_INVALID_JOB_ID
    private const int AlreadyDone = 2021;           // ESLURM_ALREADY_DONE
    private const int JobHeld = 2042;               // ESLURM_JOB_HELD: a warning when the job was submitted held
    private const int ControllerUnreachable = 1001; // SLURM_PROTOCOL_SOCKET_IMPL_ZERO_RECV_LEN and friends
    private const int ZeroBytes = 5005;             // SLURM_COMMUNICATIONS_RECEIVE_ERROR ... "Zero Bytes were transmitted"
    private const int ParseFailure = 9001;          // "Failure during parsing"

    /// <summary>Extra sbatch options this transport maps to v0.0.38 job fields (each checked against slurmrestd 22.05).</summary>
    public static readonly IReadOnlyDictionary<string, string> SupportedExtraOptions = new Dictionary<string, string>
    {
        ["comment"] = "comment",
        ["constraint"] = "constraints",
        ["dependency"] = "dependency",
        ["exclusive"] = "exclusive",
        ["mail-type"] = "mail_type",
        ["mail-user"] = "mail_user",
        ["nice"] = "nice",
        ["ntasks-per-node"] = "tasks_per_node",
        ["oversubscribe"] = "oversubscribe",
        ["signal"] = "signal",
    };

    private readonly SlurmRestOptions _options;
    private readonly HttpClient _http;
    private readonly string _endpoint;
    private string? _checkedToken;

    public SlurmRestTransport(SlurmRestOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((options.BaseAddress is null) == (options.UnixSocketPath is null))
            throw new SlurmException(SlurmErrorKind.InvalidSpec, "Give slurmrestd either a URL (http://host:port) or a unix socket path, not both or neither.");
        if (options.TokenProvider is not null && string.IsNullOrWhiteSpace(options.UserName))
            throw new SlurmException(SlurmErrorKind.InvalidSpec, "A Slurm JWT needs the user name it was made for (X-SLURM-USER-NAME).");
        _options = options;
        if (options.UnixSocketPath is { } socket)
        {
            _endpoint = $"unix:{socket}";
            handler ??= new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct).ConfigureAwait(false);
                        return new NetworkStream(s, ownsSocket: true);
                    }
                    catch
                    {
                        s.Dispose();
                        throw;
                    }
                },
            };
            _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/") };
        }
        else
        {
            // Keep a path prefix (slurmrestd behind a reverse proxy); drop query and fragment.
            _endpoint = options.BaseAddress!.GetLeftPart(UriPartial.Path).TrimEnd('/');
            _http = handler is null ? new HttpClient() : new HttpClient(handler);
            _http.BaseAddress = new Uri(_endpoint + "/");
        }
        _http.Timeout = options.RequestTimeout;
    }

    public void Dispose() => _http.Dispose();

    private string Api(string path) => $"slurm/{_options.ApiVersion}/{path}";

    public async Task<string> SubmitAsync(SlurmJobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var body = new JsonObject { ["script"] = spec.ScriptWithShebang, ["job"] = JobProperties(spec) };
        var reply = await SendAsync(HttpMethod.Post, Api("job/submit"), body.ToJsonString(), cancellationToken).ConfigureAwait(false);
        if (reply.Json is { } json && json.TryGetProperty("job_id", out var id) && id.ValueKind == JsonValueKind.Number)
            return id.GetInt64().ToString(CultureInfo.InvariantCulture); // held jobs come with error 2042 "Job is in held state": not a failure
        var hint = spec.Gres is not null && reply.Errors.All(e => e.Number == ParseFailure)
            ? $" (slurmrestd 22.05 reports a generic resource the cluster does not have this way: check gres '{spec.Gres}' against sinfo -o %G)"
            : "";
        throw ErrorFrom(reply, $"Slurm did not accept job '{spec.Name}'", hint);
    }

    /// <summary>The v0.0.38 job properties for <paramref name="spec"/>.</summary>
    internal JsonObject JobProperties(SlurmJobSpec spec)
    {
        var env = new JsonObject();
        foreach (var (k, v) in _options.BaseEnvironment) env[k] = v;
        foreach (var (k, v) in spec.Environment) env[k] = v;
        var job = new JsonObject
        {
            ["name"] = spec.Name,
            ["current_working_directory"] = spec.WorkingDirectory ?? _options.DefaultWorkingDirectory,
            ["environment"] = env,
        };
        if (spec.Partition is { } p) job["partition"] = p;
        if (spec.Account is { } a) job["account"] = a;
        if (spec.Qos is { } q) job["qos"] = q;
        if (spec.TimeLimitMinutes is { } t) job["time_limit"] = t;
        if (spec.Nodes is { } n) job["nodes"] = new JsonArray(n, n);
        if (spec.Tasks is { } nt) job["tasks"] = nt;
        if (spec.CpusPerTask is { } c) job["cpus_per_task"] = c;
        if (spec.MemoryMiB is { } m) job["memory_per_node"] = m;
        if (spec.Gres is { } g) job["gres"] = g;
        // An integer begin_time fails to parse in 22.05 and local times depend on slurmrestd's time zone: "uts<epoch>" does neither.
        if (spec.BeginTime is { } b) job["begin_time"] = "uts" + b.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        if (spec.Hold) job["hold"] = true;
        if (spec.ArrayRange is { } array) job["array"] = array;
        if (spec.StandardOutput is { } o) job["standard_output"] = o;
        if (spec.StandardError is { } e) job["standard_error"] = e;
        foreach (var option in spec.ExtraOptions)
        {
            var (name, value) = SlurmExtraOptions.Split(option);
            if (!SupportedExtraOptions.TryGetValue(name, out var field))
                throw new SlurmException(SlurmErrorKind.InvalidSpec,
                    $"Extra option '{option}' has no slurmrestd {_options.ApiVersion} equivalent here. Supported: " +
                    string.Join(", ", SupportedExtraOptions.Keys.Select(k => "--" + k)) + "; or use the Slurm command-line transport.");
            job[field] = name switch
            {
                "exclusive" => value ?? "exclusive",
                "oversubscribe" when value is null => true,
                "nice" or "ntasks-per-node" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => i,
                _ when value is not null and not "" => value,
                _ => throw new SlurmException(SlurmErrorKind.InvalidSpec, $"Extra option '{option}' needs a value of the right kind (--{name}=...)."),
            };
        }
        return job;
    }

    public async Task<SlurmJobState?> GetJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        SlurmJobIds.Check(jobId);
        return (await GetJobOrArrayAsync(jobId.Split('_')[0], cancellationToken).ConfigureAwait(false)).FirstOrDefault(j => j.JobId == jobId);
    }

    /// <summary>
    /// A job, or every task of an array: slurmrestd 22.05 cannot find an array task by <c>ID_N</c> until it has started, and
    /// answers for the array's id with all its tasks (those not started yet in one record, see <see cref="Jobs"/>).
    /// </summary>
    private async Task<IReadOnlyList<SlurmJobState>> GetJobOrArrayAsync(string jobId, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(HttpMethod.Get, Api($"job/{jobId}"), null, cancellationToken).ConfigureAwait(false);
        if (reply.Errors.Any(e => e.Number == InvalidJobId)) return [];
        if (!reply.IsSuccess || reply.Json is not { } json) throw ErrorFrom(reply, $"Cannot read Slurm job {jobId}");
        return Jobs(json).ToList();
    }

    public async Task<IReadOnlyDictionary<string, SlurmJobState>> GetJobsAsync(IReadOnlyCollection<string> jobIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        foreach (var id in jobIds) SlurmJobIds.Check(id);
        // One small GET per job or array, concurrently: listing every job of a large cluster costs more than a few requests.
        var wanted = jobIds.ToHashSet(StringComparer.Ordinal);
        var answers = await Task.WhenAll(wanted.Select(id => id.Split('_')[0]).Distinct(StringComparer.Ordinal)
            .Select(id => GetJobOrArrayAsync(id, cancellationToken))).ConfigureAwait(false);
        var states = new Dictionary<string, SlurmJobState>(StringComparer.Ordinal);
        foreach (var state in answers.SelectMany(a => a))
            if (wanted.Contains(state.JobId)) states[state.JobId] = state;
        return states;
    }

    public async Task<IReadOnlyList<SlurmJobState>> FindJobsByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        // v0.0.38 has no name filter: list the jobs and keep the ones with this name.
        var reply = await SendAsync(HttpMethod.Get, Api("jobs"), null, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess || reply.Json is not { } json) throw ErrorFrom(reply, $"Cannot list Slurm jobs named '{name}'");
        return Jobs(json).Where(j => j.Name == name).OrderBy(j => SlurmJobIds.SortKey(j.JobId)).ToList();
    }

    public async Task CancelAsync(string jobId, CancellationToken cancellationToken = default)
    {
        SlurmJobIds.Check(jobId);
        var reply = await SendAsync(HttpMethod.Delete, Api($"job/{jobId}"), null, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess && reply.Errors.Count == 0) return;
        if (reply.Errors.Count > 0 && reply.Errors.All(e => e.Number is InvalidJobId or AlreadyDone)) return;
        throw ErrorFrom(reply, $"Cannot cancel Slurm job {jobId}");
    }

    /// <summary>
    /// The <c>jobs</c> array of a v0.0.38 reply; exit_code there is a raw wait status. An array task goes by
    /// <c>ARRAYJOBID_TASKID</c>; the record of an array's tasks that have not started yet (<c>array_task_string</c> 3-9) stands for
    /// each of them.
    /// </summary>
    internal static IEnumerable<SlurmJobState> Jobs(JsonElement reply)
    {
        if (!reply.TryGetProperty("jobs", out var jobs) || jobs.ValueKind != JsonValueKind.Array) yield break;
        foreach (var job in jobs.EnumerateArray())
        {
            if (!job.TryGetProperty("job_id", out var id) || id.ValueKind != JsonValueKind.Number) continue;
            var raw = job.TryGetProperty("exit_code", out var exit) && exit.ValueKind == JsonValueKind.Number && exit.TryGetInt64(out var x) ? x : 0;
            var jobId = id.GetInt64().ToString(CultureInfo.InvariantCulture);
            var arrayJob = Number(job, "array_job_id");
            var state = SlurmJobState.Create(jobId, String(job, "name"), String(job, "job_state") ?? "UNKNOWN", String(job, "state_reason"),
                SlurmExitStatus.FromWaitStatus(raw));
            if (arrayJob is null or 0)
            {
                yield return state;
                continue;
            }
            var tasks = String(job, "array_task_string") is { Length: > 0 } range ? TaskIds(range)
                : Number(job, "array_task_id") is { } only and < uint.MaxValue - 1 ? [only]
                : [];
            foreach (var task in tasks)
                yield return state with { JobId = string.Create(CultureInfo.InvariantCulture, $"{arrayJob}_{task}") };
        }
    }

    /// <summary>The task ids of an array range as Slurm prints it: <c>3-9,12,20-30:2%4</c> (a step after ':', a limit after '%').</summary>
    internal static IEnumerable<long> TaskIds(string range)
    {
        var cut = range.IndexOf('%', StringComparison.Ordinal);
        foreach (var part in (cut < 0 ? range : range[..cut]).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var stepAt = part.IndexOf(':', StringComparison.Ordinal);
            var span = stepAt < 0 ? part : part[..stepAt];
            var step = stepAt < 0 ? 1 : long.Parse(part[(stepAt + 1)..], CultureInfo.InvariantCulture);
            var dash = span.IndexOf('-', StringComparison.Ordinal);
            var first = long.Parse(dash < 0 ? span : span[..dash], CultureInfo.InvariantCulture);
            var last = dash < 0 ? first : long.Parse(span[(dash + 1)..], CultureInfo.InvariantCulture);
            for (var t = first; t <= last; t += Math.Max(1, step)) yield return t;
        }
    }

    private static long? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    /// <summary>slurmrestd v0.0.38 does not serve the configuration: Slurm's default.</summary>
    public Task<int?> GetMaxArraySizeAsync(CancellationToken cancellationToken = default) => Task.FromResult<int?>(null);

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal readonly record struct RestError(int? Number, string Text);

    internal sealed record Reply(HttpStatusCode Status, string Body, JsonElement? Json, IReadOnlyList<RestError> Errors)
    {
        public bool IsSuccess => (int)Status is >= 200 and < 300;
    }

    private async Task<Reply> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (_options.TokenProvider is { } provider)
        {
            var token = await provider(cancellationToken).ConfigureAwait(false);
            CheckToken(token);
            request.Headers.TryAddWithoutValidation("X-SLURM-USER-NAME", _options.UserName);
            request.Headers.TryAddWithoutValidation("X-SLURM-USER-TOKEN", token);
        }
        if (json is not null)
        {
            // Buffered (Content-Length, not chunked) and "application/json" with no charset parameter.
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SlurmException(SlurmErrorKind.Unavailable, $"slurmrestd at {_endpoint} cannot be reached: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SlurmException(SlurmErrorKind.Unavailable,
                $"slurmrestd at {_endpoint} did not answer within {_options.RequestTimeout.TotalSeconds:0} s.", e);
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonElement? parsed = null;
            var errors = new List<RestError>();
            try
            {
                using var doc = JsonDocument.Parse(body);
                parsed = doc.RootElement.Clone();
                if (parsed.Value.ValueKind == JsonValueKind.Object && parsed.Value.TryGetProperty("errors", out var list) &&
                    list.ValueKind == JsonValueKind.Array)
                {
                    foreach (var e in list.EnumerateArray()) errors.Add(ParseError(e));
                }
            }
            catch (JsonException)
            {
                // slurmrestd answers some failures (401) with plain text.
            }
            return new Reply(response.StatusCode, body, parsed, errors);
        }
    }

    private static RestError ParseError(JsonElement e)
    {
        int? number = null;
        foreach (var key in (string[])["error_number", "error_code"])
            if (e.TryGetProperty(key, out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var i)) { number = i; break; }
        var parts = new[] { String(e, "description"), String(e, "error"), String(e, "source") is { } s ? $"in {s}" : null }
            .Where(p => !string.IsNullOrEmpty(p)).Distinct().ToList();
        var text = parts.Count == 0 ? e.GetRawText() : string.Join(": ", parts);
        return new(number, number is { } num ? $"{text} (error {num})" : text);
    }

    private SlurmException ErrorFrom(Reply reply, string what, string hint = "")
    {
        var details = reply.Errors.Count > 0
            ? string.Join("; ", reply.Errors.Select(e => e.Text))
            : $"HTTP {(int)reply.Status} {Truncate(reply.Body)}";
        if (reply.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            return new SlurmException(SlurmErrorKind.Authentication,
                $"{what}: slurmrestd at {_endpoint} refused the credentials ({details}). " +
                (_options.TokenProvider is null
                    ? "Give a user name and a JWT (scontrol token username=<user>), or use the local-auth unix socket."
                    : $"Check the user name '{_options.UserName}' and its JWT."));
        if (reply.Errors.Any(e => e.Number is ControllerUnreachable))
            return new SlurmException(SlurmErrorKind.Unavailable, $"{what}: slurmrestd at {_endpoint} cannot reach slurmctld ({details}).");
        // slurmrestd passes the token on to slurmctld; a token slurmctld cannot verify comes back as a bare
        // "Unspecified error" (-1) or "Zero Bytes were transmitted or received" (5005).
        if (_options.TokenProvider is not null && reply.Errors.Count > 0 &&
            reply.Errors.All(e => e.Number is -1 or ZeroBytes or ParseFailure) && reply.Errors.Any(e => e.Number is -1 or ZeroBytes) &&
            !reply.Errors.Any(e => e.Text.Contains("Unable to process key", StringComparison.Ordinal)))
            return new SlurmException(SlurmErrorKind.Authentication,
                $"{what}: slurmctld refused the request slurmrestd at {_endpoint} made with the JWT for user '{_options.UserName}' ({details}). " +
                "This is how Slurm 22.05 reports a token it cannot verify: make a current one on this cluster with " +
                $"'scontrol token username={_options.UserName}' and check the user name matches.");
        if (reply.Json is null && !reply.IsSuccess)
            return new SlurmException(SlurmErrorKind.Protocol, $"{what}: slurmrestd at {_endpoint} answered {details}.");
        return new SlurmException(SlurmErrorKind.Rejected, $"{what}: {details}{hint}.");
    }

    private static string Truncate(string body)
    {
        body = body.Trim().ReplaceLineEndings(" ");
        return body.Length <= 300 ? body : body[..300] + "...";
    }

    /// <summary>Checks what can be checked of a JWT without its key: its shape and its expiry. Once per token.</summary>
    private void CheckToken(string token)
    {
        if (token == _checkedToken) return;
        if (string.IsNullOrWhiteSpace(token))
            throw new SlurmException(SlurmErrorKind.Authentication, $"The Slurm JWT for user '{_options.UserName}' is empty.");
        var parts = token.Trim().Split('.');
        JsonElement payload;
        try
        {
            if (parts.Length != 3) throw new FormatException();
            var b64 = parts[1].Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            using var doc = JsonDocument.Parse(Convert.FromBase64String(b64));
            payload = doc.RootElement.Clone();
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new SlurmException(SlurmErrorKind.Authentication,
                $"The Slurm token for user '{_options.UserName}' is not a JWT (header.payload.signature). Make one with 'scontrol token " +
                $"username={_options.UserName}'.", e);
        }
        if (payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds))
        {
            var expiry = DateTimeOffset.FromUnixTimeSeconds(seconds);
            if (expiry <= TimeProvider.System.GetUtcNow()) // the token's expiry is on the real clock
                throw new SlurmException(SlurmErrorKind.Authentication,
                    $"The Slurm JWT for user '{_options.UserName}' expired at {expiry:u}. Make a new one with 'scontrol token username={_options.UserName} " +
                    "lifespan=<seconds>'.");
        }
        _checkedToken = token;
    }
}
