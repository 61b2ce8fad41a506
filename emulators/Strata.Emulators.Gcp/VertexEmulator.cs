namespace Strata.Emulators.Gcp;

/// <summary>
/// Google Cloud on one loopback endpoint: Cloud Storage (<see cref="GcsEmulator"/>), Vertex AI custom jobs under
/// <c>/v1/projects/{p}/locations/{r}/customJobs</c> (requests checked against aiplatform's protos.json, each job's container
/// run for real), Cloud Logging's <c>/v2/entries:list</c> with the jobs' output, and the OAuth token endpoint <c>/token</c>
/// that accepts service-account JWTs signed with a key from <see cref="CreateServiceAccountKey"/>.
/// </summary>
public sealed class VertexEmulator : IAsyncDisposable
{
    private readonly List<GcpRequestBody> _bodies = [];
    private readonly TokenService _tokens;
    private readonly LoggingService _logs;
    private readonly VertexService _vertex;
    private readonly string _workDirectory;
    private readonly bool _ownsWorkDirectory;

    private VertexEmulator(VertexEmulatorOptions options)
    {
        Options = options;
        _ownsWorkDirectory = options.WorkDirectory is null;
        _workDirectory = options.WorkDirectory ?? Directory.CreateTempSubdirectory("strata-vertex-emulator-").FullName;
        Directory.CreateDirectory(_workDirectory);
        _tokens = new TokenService(options, Record);
        _logs = new LoggingService(options, _tokens, Record);
        _vertex = new VertexService(options, _tokens, _logs, Record, _workDirectory);
    }

    public VertexEmulatorOptions Options { get; }

    /// <summary>The Cloud Storage part, on the same endpoint.</summary>
    public GcsEmulator Storage { get; private set; } = null!;

    /// <summary>The base URL (http://127.0.0.1:&lt;port&gt;/) of every API.</summary>
    public Uri Endpoint => Storage.Endpoint;

    /// <summary>Every answered request of every API, in order.</summary>
    public IReadOnlyList<GcsRequest> Requests => Storage.Requests;

    /// <summary>The bodies of the Vertex AI, Cloud Logging and token requests, as received.</summary>
    public IReadOnlyList<GcpRequestBody> RequestBodies
    {
        get { lock (_bodies) return _bodies.ToArray(); }
    }

    /// <summary>OUTPUT_ONLY fields requests set, which were ignored, as proto paths (e.g. <c>custom_job.state</c>).</summary>
    public IReadOnlyList<string> IgnoredOutputOnlyFields
    {
        get { lock (_vertex.IgnoredOutputOnly) return _vertex.IgnoredOutputOnly.ToArray(); }
    }

    /// <summary>Share of requests answered with 429; may change while running.</summary>
    public double ThrottleRate { get => Storage.ThrottleRate; set => Storage.ThrottleRate = value; }

    public static async Task<VertexEmulator> StartAsync(VertexEmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var emulator = new VertexEmulator(options);
        emulator.Storage = await GcsEmulator.StartAsync(new GcsEmulatorOptions
        {
            Port = options.Port,
            Project = options.Project,
            ThrottleRate = options.ThrottleRate,
            ServerErrorRate = options.ServerErrorRate,
            RandomSeed = options.RandomSeed,
            OnRequest = options.OnRequest,
        }, [emulator._tokens, emulator._logs, emulator._vertex], cancellationToken);
        return emulator;
    }

    /// <summary>
    /// Issues a service-account key: the JSON of a key file (as the console downloads it) whose private key the token endpoint
    /// accepts signatures of, and whose <c>token_uri</c> is this emulator's.
    /// </summary>
    public string CreateServiceAccountKey(string? email = null) =>
        _tokens.CreateKey(Endpoint, Options.Project, email ?? $"strata-runner@{Options.Project}.iam.gserviceaccount.com");

    /// <summary>The state of a job by its numeric id (<c>JOB_STATE_...</c>); null when there is no such job.</summary>
    public string? JobState(string id)
    {
        var job = _vertex.Job(id);
        if (job is null) return null;
        lock (job) return job.State;
    }

    /// <summary>The resource names of all jobs created so far.</summary>
    public IReadOnlyList<string> JobNames => _vertex.Jobs().Select(j => j.Name).ToArray();

    /// <summary>The directory a job's process runs in (local images), by the job's numeric id.</summary>
    public string JobDirectory(string id) => Path.Combine(_workDirectory, id);

    /// <summary>Whether a job's process is still running.</summary>
    public bool IsRunning(string id) => _vertex.Job(id)?.Process is { HasExited: false };

    /// <summary>The text of a job's log entries, in order (its output and the service's messages).</summary>
    public IReadOnlyList<string> LogLines(string id) => _logs.Entries(id).Select(e => e.Text).ToArray();

    private void Record(GcpRequestBody body)
    {
        lock (_bodies) _bodies.Add(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _vertex.DisposeAsync();
        await Storage.DisposeAsync();
        if (_ownsWorkDirectory)
        {
            try { Directory.Delete(_workDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
