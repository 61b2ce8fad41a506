using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Strata.Aws.Signing;

namespace Strata.Aws.Json;

/// <summary>An AWS service spoken with the JSON 1.1 protocol: its signing name, target prefix and member naming.</summary>
internal sealed record AwsJsonService(string SigningName, string TargetPrefix, string EndpointPrefix, JsonSerializerOptions Json)
{
    public static AwsJsonService SageMaker { get; } = new("sagemaker", "SageMaker", "api.sagemaker", Options(null));

    public static AwsJsonService Logs { get; } = new("logs", "Logs_20140328", "logs", Options(JsonNamingPolicy.CamelCase));

    /// <summary>The public endpoint of the service in a region.</summary>
    public Uri DefaultEndpoint(string region) =>
        new($"https://{EndpointPrefix}.{region}.amazonaws.com{(region.StartsWith("cn-", StringComparison.Ordinal) ? ".cn" : "")}/");

    private static JsonSerializerOptions Options(JsonNamingPolicy? naming) => new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = naming,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new EpochSecondsConverter() },
    };
}

/// <summary>How often and how long to retry throttled and failed calls (exponential backoff with jitter).</summary>
internal sealed record AwsRetryOptions
{
    /// <summary>Retries after the first attempt.</summary>
    public int MaxRetries { get; init; } = 8;

    /// <summary>The first delay; later ones grow exponentially, each with random jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// Calls one AWS JSON 1.1 service over <see cref="HttpClient"/>: POST / with <c>X-Amz-Target: Prefix.Operation</c>,
/// signed with Signature Version 4 per attempt. Throttling, 5xx and transport errors are retried with jittered
/// exponential backoff; other errors become an <see cref="AwsServiceException"/> with AWS's error type and message.
/// </summary>
/// <remarks>
/// A retried call may have taken effect the first time (a 500 after the job was created): callers of non-idempotent
/// operations (CreateTrainingJob) should treat the "already exists" answer of a retry accordingly.
/// </remarks>
internal sealed class AwsJsonClient
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/x-amz-json-1.1");

    private readonly HttpClient _http;
    private readonly AWSCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly ResiliencePipeline _retry;

    public AwsJsonClient(HttpClient http, AwsJsonService service, Uri endpoint, string region, AWSCredentials credentials,
        AwsRetryOptions? retry = null, TimeProvider? time = null, ILogger? logger = null)
    {
        _http = http;
        Service = service;
        Endpoint = endpoint;
        Region = region;
        _credentials = credentials;
        _time = time ?? TimeProvider.System;
        _logger = logger;
        var options = retry ?? new AwsRetryOptions();
        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<AwsServiceException>(e => e.IsRetryable)
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>(e => e.InnerException is TimeoutException), // HttpClient.Timeout, not the caller
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                OnRetry = args =>
                {
                    Interlocked.Increment(ref _retries);
                    _logger?.LogDebug(args.Outcome.Exception, "{Service} call retried (attempt {Attempt}) after {Delay}", service.TargetPrefix,
                        args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private long _retries;

    public AwsJsonService Service { get; }
    public Uri Endpoint { get; }
    public string Region { get; }

    /// <summary>How many retries this client has made (throttling, 5xx, transport errors).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public async Task<TResponse> SendAsync<TRequest, TResponse>(string operation, TRequest request, CancellationToken cancellationToken)
    {
        var bytes = await SendRawAsync(operation, JsonSerializer.SerializeToUtf8Bytes(request, Service.Json), cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<TResponse>(bytes.Length == 0 ? "{}"u8 : bytes, Service.Json)
                ?? throw new JsonException("The response is null.");
        }
        catch (JsonException e)
        {
            throw new AwsServiceException(operation, "InvalidResponse", $"The {Service.TargetPrefix}.{operation} response could not be read: {e.Message}",
                HttpStatusCode.OK, null, e);
        }
    }

    /// <summary>Sends a request body as is and returns the response body; errors as for the typed call.</summary>
    public async Task<byte[]> SendRawAsync(string operation, byte[] body, CancellationToken cancellationToken) =>
        await _retry.ExecuteAsync(async ct => await AttemptAsync(operation, body, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    private async Task<byte[]> AttemptAsync(string operation, byte[] body, CancellationToken ct)
    {
        var credentials = await _credentials.GetCredentialsAsync().ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.TryAddWithoutValidation("X-Amz-Target", $"{Service.TargetPrefix}.{operation}");
        // A signature carries the wall-clock time, which AWS checks against its own: the real clock, whatever the run's.
        SigV4Signer.Sign(request, body, Service.SigningName, Region, credentials, TimeProvider.System.GetUtcNow().UtcDateTime);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        var content = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return content;
        throw AwsServiceException.FromResponse(operation, response, content);
    }
}

/// <summary>An error answer of an AWS service: its type (<c>ValidationException</c>, <c>ThrottlingException</c>, ...) and message.</summary>
public sealed class AwsServiceException : Exception
{
    private static readonly HashSet<string> Throttling = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    };

    private static readonly HashSet<string> Transient = new(StringComparer.Ordinal)
    {
        "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
            "RequestTimeoutException",
    };

    internal AwsServiceException(string operation, string errorCode, string message, HttpStatusCode statusCode, string? requestId, Exception? inner = null)
        : base($"{operation}: {errorCode}: {message}", inner)
    {
        Operation = operation;
        ErrorCode = errorCode;
        ErrorMessage = message;
        StatusCode = statusCode;
        RequestId = requestId;
    }

    /// <summary>The operation called, e.g. <c>CreateTrainingJob</c>.</summary>
    public string Operation { get; }

    /// <summary>AWS's error type without namespace, e.g. <c>ValidationException</c>, <c>ResourceInUse</c>.</summary>
    public string ErrorCode { get; }

    /// <summary>AWS's message, as sent.</summary>
    public string ErrorMessage { get; }

    public HttpStatusCode StatusCode { get; }

    public string? RequestId { get; }

    public bool IsThrottling => Throttling.Contains(ErrorCode) || StatusCode == HttpStatusCode.TooManyRequests;

    /// <summary>Throttling and server-side failures, which a later attempt may not meet.</summary>
    public bool IsRetryable => IsThrottling || Transient.Contains(ErrorCode) || (int)StatusCode >= 500;

    internal static AwsServiceException FromResponse(string operation, HttpResponseMessage response, byte[] body)
    {
        string? type = null, message = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (p.NameEquals("__type") || p.NameEquals("code") || p.NameEquals("Code")) type ??= p.Value.GetString();
                    else if (p.Name.Equals("message", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String)
                        message ??= p.Value.GetString();
                }
        }
        catch (JsonException)
        {
            // not JSON: a proxy or load balancer answered
        }
        if (type is null && response.Headers.TryGetValues("x-amzn-ErrorType", out var header)) type = header.FirstOrDefault();
        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
        var code = Normalize(type) ?? $"Http{((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)}";
        message ??= body.Length > 0 && body.Length < 2048 ? System.Text.Encoding.UTF8.GetString(body) : response.ReasonPhrase ?? "";
        return new AwsServiceException(operation, code, message, response.StatusCode, requestId);
    }

    /// <summary><c>com.amazon.coral.validate#ValidationException</c> and <c>ValidationException:http://...</c> → <c>ValidationException</c>.</summary>
    private static string? Normalize(string? type)
    {
        if (string.IsNullOrWhiteSpace(type)) return null;
        var hash = type.LastIndexOf('#');
        if (hash >= 0) type = type[(hash + 1)..];
        var colon = type.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0) type = type[..colon];
        return type.Trim();
    }
}

/// <summary>JSON 1.1 timestamps: seconds since the epoch, fractional.</summary>
internal sealed class EpochSecondsConverter : System.Text.Json.Serialization.JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(reader.GetDouble() * TimeSpan.TicksPerSecond)),
        JsonTokenType.String => DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture),
        _ => throw new JsonException($"A timestamp is a number of seconds, not {reader.TokenType}."),
    };

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(Math.Round((value - DateTimeOffset.UnixEpoch).TotalSeconds, 3));
}
