using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Aws;

/// <summary>
/// SageMaker training jobs and CloudWatch Logs on a loopback port, faithful where a client can tell: every request is
/// checked against AWS's own service models (botocore's service-2.json), signatures are verified with the configured
/// credentials, jobs run for real as local processes, and errors have AWS's shape. One endpoint serves both services
/// (told apart by X-Amz-Target and the credential scope).
/// </summary>
/// <example>
/// <code>
/// await using var emulator = await SageMakerEmulator.StartAsync(new SageMakerEmulatorOptions
/// {
///     Credentials = { ["AKIDEXAMPLE"] = "secret" },
///     Images = { ["123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"] = new EmulatedImage { Entrypoint = ["/bin/sh", "-c"] } },
/// });
/// // point the clients at emulator.Endpoint
/// </code>
/// </example>
public sealed class SageMakerEmulator : IAsyncDisposable
{
    private const string JsonContentType = "application/x-amz-json-1.1";

    private readonly SageMakerEmulatorOptions _options;
    private readonly WebApplication _app;
    private readonly ServiceModel _sageMaker;
    private readonly ServiceModel _logsModel;
    private readonly LogStore _logs;
    private readonly TrainingJobs _jobs;
    private readonly SigV4Verifier _verifier;
    private readonly FaultDice _dice;
    private int _serverErrors;
    private readonly string _workDirectory;
    private readonly bool _ownsWorkDirectory;
    private readonly List<EmulatorRequest> _requests = [];

    private SageMakerEmulator(SageMakerEmulatorOptions options, WebApplication app)
    {
        _options = options;
        _app = app;
        _sageMaker = ServiceModel.Load(options.BotocoreDataDirectory, "sagemaker", "2017-07-24");
        _logsModel = ServiceModel.Load(options.BotocoreDataDirectory, "logs", "2014-03-28");
        _ownsWorkDirectory = options.WorkDirectory is null;
        _workDirectory = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"strata-sagemaker-emulator-{Guid.NewGuid():n}");
        Directory.CreateDirectory(_workDirectory);
        _logs = new LogStore(options.Region, options.AccountId, options.Time);
        _logs.CreateGroup(TrainingJobs.LogGroup);
        _jobs = new TrainingJobs(options, _logs, _sageMaker, _workDirectory);
        // A signature's time is checked against the real clock, as AWS does, whatever clock the jobs run on.
        _verifier = new SigV4Verifier(options.Credentials, options.Region, options.MaxClockSkew, TimeProvider.System);
        _dice = new FaultDice(options.RandomSeed);
    }

    /// <summary>The emulator's base URL (http://127.0.0.1:&lt;port&gt;/), for both SageMaker and CloudWatch Logs.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public SageMakerEmulatorOptions Options => _options;

    /// <summary>botocore's SageMaker model, as the emulator validates with it.</summary>
    public ServiceModel SageMakerModel => _sageMaker;

    /// <summary>botocore's CloudWatch Logs model.</summary>
    public ServiceModel LogsModel => _logsModel;

    /// <summary>Share of requests answered with ThrottlingException; may change while running.</summary>
    public double ThrottleRate { get => _options.ThrottleRate; set => _options.ThrottleRate = value; }

    /// <summary>Share of requests answered with a 500 or 503; may change while running.</summary>
    public double ServerErrorRate { get => _options.ServerErrorRate; set => _options.ServerErrorRate = value; }

    /// <summary>Every request answered so far, in order.</summary>
    public IReadOnlyList<EmulatorRequest> Requests
    {
        get { lock (_requests) return _requests.ToArray(); }
    }

    /// <summary>Starts the emulator on 127.0.0.1 and the options' port (by default a free one).</summary>
    public static async Task<SageMakerEmulator> StartAsync(SageMakerEmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, options.Port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var emulator = new SageMakerEmulator(options, app);
        app.Run(emulator.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.Endpoint = new Uri(address.TrimEnd('/') + "/");
        return emulator;
    }

    /// <summary>The directory of a job, standing in for the container's /opt/ml (model/, output/, input/config/).</summary>
    public string JobDirectory(string trainingJobName) => _jobs.DirectoryOf(trainingJobName);

    /// <summary>The job's log stream in /aws/sagemaker/TrainingJobs, once it trains.</summary>
    public string? LogStream(string trainingJobName) => _jobs.LogStreamOf(trainingJobName);

    /// <summary>The messages of a log stream so far.</summary>
    public IReadOnlyList<string> LogMessages(string group, string stream) => _logs.Messages(group, stream);

    private async Task HandleAsync(HttpContext context)
    {
        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["x-amzn-RequestId"] = requestId;
        var target = context.Request.Headers["X-Amz-Target"].ToString();
        var dot = target.IndexOf('.', StringComparison.Ordinal);
        var prefix = dot < 0 ? target : target[..dot];
        var operation = dot < 0 ? "" : target[(dot + 1)..];
        var model = prefix == _sageMaker.TargetPrefix ? _sageMaker : prefix == _logsModel.TargetPrefix ? _logsModel : null;
        var service = model?.SigningName ?? "unknown";
        var body = Array.Empty<byte>();
        try
        {
            if (context.Request.Method != "POST" || context.Request.Path != "/")
                throw new EmulatedAwsException(404, "UnknownOperationException", $"{context.Request.Method} {context.Request.Path} is not an operation: AWS JSON services take POST /.");
            if (model is null || !model.HasOperation(operation))
                throw new EmulatedAwsException(400, "UnknownOperationException", target.Length == 0 ? "Missing X-Amz-Target header." : $"Unknown operation {target}.");

            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();

            if (_verifier.Verify(context.Request, body, model.SigningName) is { } failure)
                throw new EmulatedAwsException(failure.Status, failure.Type, failure.Message);
            InjectFault();

            var contentType = context.Request.ContentType ?? "";
            if (!contentType.Split(';')[0].Trim().Equals(JsonContentType, StringComparison.OrdinalIgnoreCase))
                throw new EmulatedAwsException(400, "SerializationException", $"Content-Type must be {JsonContentType}, not '{contentType}'.");
            JsonNode? parsed;
            try
            {
                parsed = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body);
            }
            catch (JsonException e)
            {
                throw new EmulatedAwsException(400, "SerializationException", $"The request body is not JSON: {e.Message}");
            }
            if (parsed is not JsonObject input)
                throw new EmulatedAwsException(400, "SerializationException", "The request body must be a JSON object.");

            if (model.InputOf(operation) is { } inputShape)
            {
                using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
                var result = new RequestValidator(model, _options.RejectUnknownMembers).Validate(inputShape, doc.RootElement);
                if (result.TypeErrors.Count > 0) throw new EmulatedAwsException(400, "SerializationException", string.Join(" ", result.TypeErrors));
                if (result.ConstraintErrors.Count > 0) throw new EmulatedAwsException(400, "ValidationException", result.ValidationMessage);
            }

            var response = Dispatch(prefix, operation, input);
            bool lost;
            lock (_options.LoseNextResponse) lost = _options.LoseNextResponse.Remove(operation);
            if (lost)
                throw new EmulatedAwsException(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.");
            if (_options.ValidateResponses && model.OutputOf(operation) is { } outputShape)
            {
                using var doc = JsonDocument.Parse(response.ToJsonString());
                var result = new RequestValidator(model).Validate(outputShape, doc.RootElement);
                if (!result.IsValid)
                    throw new EmulatedAwsException(500, "InternalFailure",
                        $"The emulator's {operation} response does not fit the model: {string.Join("; ", result.ConstraintErrors.Concat(result.TypeErrors))}");
            }
            await WriteAsync(context, 200, model.OutputOf(operation) is null ? "{}" : response.ToJsonString());
            Record(service, operation, 200, null, body);
        }
        catch (EmulatedAwsException e)
        {
            await WriteErrorAsync(context, prefix, e);
            Record(service, operation, e.Status, e.Type, body);
        }
    }

    private JsonObject Dispatch(string prefix, string operation, JsonObject input) => (prefix, operation) switch
    {
        ("SageMaker", "CreateTrainingJob") => _jobs.Create(input),
        ("SageMaker", "DescribeTrainingJob") => _jobs.Describe((string)input["TrainingJobName"]!),
        ("SageMaker", "StopTrainingJob") => Empty(() => _jobs.Stop((string)input["TrainingJobName"]!)),
        ("Logs_20140328", "GetLogEvents") => _logs.GetLogEvents(input),
        ("Logs_20140328", "DescribeLogStreams") => _logs.DescribeLogStreams(input),
        _ => throw new EmulatedAwsException(400, "UnknownOperationException", $"{prefix}.{operation} is in AWS's model but not emulated."),
    };

    private static JsonObject Empty(Action action)
    {
        action();
        return new JsonObject();
    }

    private void InjectFault()
    {
        switch (_dice.Roll(_options.ThrottleRate, _options.ServerErrorRate))
        {
            case InjectedFault.Throttle:
                throw new EmulatedAwsException(400, "ThrottlingException", "Rate exceeded");
            case InjectedFault.ServerError:
                // AWS answers both; a client must retry either.
                throw Interlocked.Increment(ref _serverErrors) % 2 == 1
                    ? new EmulatedAwsException(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
                    : new EmulatedAwsException(503, "ServiceUnavailable", "Service is unable to handle request.");
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, string prefix, EmulatedAwsException e)
    {
        // AWS JSON errors: a type (coral's validation errors namespaced), a message, and x-amzn-ErrorType.
        var type = e.Type == "ValidationException" && prefix == "SageMaker" ? "com.amazon.coral.validate#ValidationException" : e.Type;
        var body = new JsonObject { ["__type"] = type };
        // SageMaker's modeled errors carry "Message"; coral's and CloudWatch Logs' carry "message".
        body[prefix == "SageMaker" && e.Type is "ResourceInUse" or "ResourceLimitExceeded" or "ResourceNotFound" ? "Message" : "message"] = e.Message;
        context.Response.Headers["x-amzn-ErrorType"] = $"{e.Type}:http://internal.amazon.com/coral/com.amazon.coral.service/";
        await WriteAsync(context, e.Status, body.ToJsonString());
    }

    private static async Task WriteAsync(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = JsonContentType;
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    private void Record(string service, string operation, int status, string? error, byte[] body)
    {
        var request = new EmulatorRequest(service, operation, status, error, _options.Time.GetUtcNow(), System.Text.Encoding.UTF8.GetString(body));
        lock (_requests) _requests.Add(request);
        _options.OnRequest?.Invoke(request);
    }

    public async ValueTask DisposeAsync()
    {
        await _jobs.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsWorkDirectory)
        {
            try { Directory.Delete(_workDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
