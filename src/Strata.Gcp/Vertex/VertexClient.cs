using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Polly;
using Polly.Retry;

namespace Strata.Gcp.Vertex;

/// <summary>An error answer of a Google REST API: HTTP status, canonical status (e.g. INVALID_ARGUMENT) and message.</summary>
internal sealed class GoogleApiError(int code, string status, string message, Exception? inner = null)
    : Exception($"{code} {status}: {message}", inner)
{
    public int Code { get; } = code;

    public string Status { get; } = status;

    public string ServerMessage { get; } = message;

    /// <summary>Throttling and server errors, which a later attempt may get past.</summary>
    public bool IsTransient => Code is 408 or 429 or >= 500;
}

/// <summary>
/// The Vertex AI custom-job methods and Cloud Logging's <c>entries:list</c> over REST, with an OAuth access token from
/// Google.Apis.Auth and retries (Polly, exponential backoff with jitter) on 429, 5xx and broken connections.
/// </summary>
internal sealed class VertexClient : IDisposable
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";

    private readonly HttpClient _http;
    private readonly Uri _vertex;
    private readonly Uri _logging;
    private readonly ITokenAccess? _credential;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly ResiliencePipeline<HttpResponseMessage> _once = ResiliencePipeline<HttpResponseMessage>.Empty;

    public VertexClient(Uri vertex, Uri logging, ITokenAccess? credential, int maxRetries, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = TimeSpan.FromMinutes(2);
        _vertex = vertex;
        _logging = logging;
        _credential = credential;
        _retry = maxRetries <= 0
            ? ResiliencePipeline<HttpResponseMessage>.Empty
            : new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                        .Handle<HttpRequestException>()
                        .Handle<TaskCanceledException>(e => !e.CancellationToken.IsCancellationRequested)
                        .HandleResult(r => (int)r.StatusCode is 408 or 429 or >= 500),
                    MaxRetryAttempts = maxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    MaxDelay = TimeSpan.FromSeconds(10),
                    OnRetry = a =>
                    {
                        a.Outcome.Result?.Dispose();
                        return ValueTask.CompletedTask;
                    },
                })
                .Build();
    }

    /// <summary>Credentials from a key's JSON or file, else Application Default Credentials; null means unauthenticated (emulators).</summary>
    public static ITokenAccess? Credential(VertexStepOperatorConfig config, bool emulator)
    {
        try
        {
            if (!string.IsNullOrWhiteSpace(config.CredentialsJson))
                return CredentialFactory.FromJson<ServiceAccountCredential>(config.CredentialsJson).ToGoogleCredential().CreateScoped(Scope);
            if (!string.IsNullOrWhiteSpace(config.CredentialsFile))
            {
                var file = Path.GetFullPath(System.Environment.ExpandEnvironmentVariables(config.CredentialsFile.Trim()));
                if (!File.Exists(file))
                    throw new StrataConfigException($"credentials_file (service_account_path) '{config.CredentialsFile}' does not exist.");
                return CredentialFactory.FromFile<ServiceAccountCredential>(file).ToGoogleCredential().CreateScoped(Scope);
            }
            if (emulator) return null;
            return GoogleCredential.GetApplicationDefault().CreateScoped(Scope);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or Newtonsoft.Json.JsonException)
        {
            throw new StrataConfigException($"The vertex step operator's Google Cloud credentials are not usable: {e.Message} Set service_account_path " +
                "(a service-account key file), credentials_json, or GOOGLE_APPLICATION_CREDENTIALS.", e);
        }
    }

    /// <summary>POST …/customJobs: once, without retries; the caller decides whether a failed create may have taken effect.</summary>
    public Task<JsonObject> CreateCustomJobAsync(string parent, JsonObject job, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri(_vertex, $"v1/{parent}/customJobs"), job, _once, cancellationToken);

    public Task<JsonObject> GetCustomJobAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, new Uri(_vertex, $"v1/{name}"), null, _retry, cancellationToken);

    /// <summary>The jobs of a parent that match an AIP-160 filter (e.g. <c>labels.strata-step-run="..."</c>), all pages.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListCustomJobsAsync(string parent, string filter, CancellationToken cancellationToken)
    {
        var jobs = new List<JsonObject>();
        string? token = null;
        do
        {
            var query = $"filter={Uri.EscapeDataString(filter)}&pageSize=100" + (token is null ? "" : $"&pageToken={Uri.EscapeDataString(token)}");
            var page = await SendAsync(HttpMethod.Get, new Uri(_vertex, $"v1/{parent}/customJobs?{query}"), null, _retry, cancellationToken)
                .ConfigureAwait(false);
            jobs.AddRange((page["customJobs"] as JsonArray ?? []).OfType<JsonObject>());
            token = (string?)page["nextPageToken"];
        }
        while (!string.IsNullOrEmpty(token));
        return jobs;
    }

    public Task<JsonObject> CancelCustomJobAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri(_vertex, $"v1/{name}:cancel"), new JsonObject(), _retry, cancellationToken);

    /// <summary>One page of Cloud Logging entries (<c>POST /v2/entries:list</c>), oldest first.</summary>
    public Task<JsonObject> ListLogEntriesAsync(string project, string filter, string? pageToken, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["resourceNames"] = new JsonArray($"projects/{project}"),
            ["filter"] = filter,
            ["orderBy"] = "timestamp asc",
            ["pageSize"] = 1000,
        };
        if (pageToken is not null) body["pageToken"] = pageToken;
        return SendAsync(HttpMethod.Post, new Uri(_logging, "v2/entries:list"), body, _retry, cancellationToken);
    }

    private async Task<JsonObject> SendAsync(HttpMethod method, Uri uri, JsonObject? body, ResiliencePipeline<HttpResponseMessage> retry,
        CancellationToken cancellationToken)
    {
        var json = body?.ToJsonString();
        using var response = await retry.ExecuteAsync(async ct =>
        {
            using var request = new HttpRequestMessage(method, uri);
            if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            if (_credential is not null)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(uri, ct).ConfigureAwait(false));
            return await _http.SendAsync(request, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw Error(response.StatusCode, text);
        try
        {
            return JsonNode.Parse(text.Length == 0 ? "{}" : text) as JsonObject ?? [];
        }
        catch (JsonException e)
        {
            throw new GoogleApiError((int)response.StatusCode, "INTERNAL", $"the answer is not JSON: {Shorten(text)}", e);
        }
    }

    /// <summary>An access token; a refused key is the user's to fix, so it is a config error that says so.</summary>
    private async Task<string> TokenAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await _credential!.GetAccessTokenForRequestAsync(uri.ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (Google.Apis.Auth.OAuth2.Responses.TokenResponseException e)
        {
            throw new StrataConfigException($"Google's token endpoint refused the vertex step operator's service-account key: {e.Error?.Error}: " +
                $"{e.Error?.ErrorDescription} (check service_account_path or credentials_json: the key may be deleted, disabled or not this account's).", e);
        }
    }

    /// <summary>Google's error shape <c>{"error": {"code", "message", "status"}}</c>, or the body as it is.</summary>
    private static GoogleApiError Error(HttpStatusCode status, string body)
    {
        try
        {
            if (JsonNode.Parse(body)?["error"] is JsonObject error)
                return new GoogleApiError((int)status, (string?)error["status"] ?? status.ToString(), (string?)error["message"] ?? "");
        }
        catch (JsonException)
        {
            // not Google's shape: a proxy's page, say
        }
        return new GoogleApiError((int)status, status.ToString(), Shorten(body));
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..297] + "...";

    public void Dispose() => _http.Dispose();
}
