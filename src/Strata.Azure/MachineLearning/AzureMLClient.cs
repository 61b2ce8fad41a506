using System.Net;
using System.Text.Json.Nodes;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;

namespace Strata.Azure.MachineLearning;

/// <summary>
/// The Azure ML calls the operator makes, over REST with Azure.Core's pipeline: bearer tokens from Azure.Identity, retries with
/// exponential backoff (honouring <c>Retry-After</c>) on 408, 429, 5xx and broken connections, and Azure's error shape read into
/// <see cref="RequestFailedException"/>. ARM for workspaces, computes, environments and jobs; run history for a job's log files.
/// </summary>
internal sealed class AzureMLClient
{
    public const string ApiVersion = "2024-10-01";
    private const string PublicArm = "https://management.azure.com/";

    private readonly HttpPipeline _arm;
    private readonly HttpPipeline _anonymous;
    private readonly Uri _armEndpoint;
    private readonly string _workspacePath;

    public AzureMLClient(AzureMLStepOperatorConfig config, HttpPipelineTransport? transport = null)
    {
        _armEndpoint = Endpoint(config.ArmEndpoint, "arm_endpoint") ?? new Uri(PublicArm);
        var authority = Endpoint(config.AuthorityHost, "authority_host");
        var options = new AzureMLClientOptions(config.MaxRetries, transport);
        // Tokens for a sovereign cloud's ARM are for that ARM; an emulator on an address stands in for the public cloud's.
        var scope = _armEndpoint.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || _armEndpoint.IsLoopback
            ? PublicArm + ".default"
            : _armEndpoint.GetLeftPart(UriPartial.Authority) + "/.default";
        _arm = HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(Credential(config, authority, transport), scope));
        _anonymous = HttpPipelineBuilder.Build(options);
        _workspacePath = $"subscriptions/{Segment(config.SubscriptionId, "subscription_id")}/resourceGroups/{Segment(config.ResourceGroup, "resource_group")}" +
            $"/providers/Microsoft.MachineLearningServices/workspaces/{Segment(config.WorkspaceName, "workspace_name")}";
    }

    /// <summary>The workspace's ARM resource id, e.g. <c>/subscriptions/S/resourceGroups/G/providers/.../workspaces/W</c>.</summary>
    public string WorkspaceId => "/" + _workspacePath;

    public string ComputeId(string compute) => $"{WorkspaceId}/computes/{compute}";

    public string EnvironmentId(string name, string version) => $"{WorkspaceId}/environments/{name}/versions/{version}";

    public Task<JsonObject> GetWorkspaceAsync(CancellationToken cancellationToken) => SendAsync(RequestMethod.Get, "", null, cancellationToken);

    public Task<JsonObject> GetComputeAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Get, $"/computes/{name}", null, cancellationToken);

    public async Task<IReadOnlyList<string>> ListComputeNamesAsync(CancellationToken cancellationToken)
    {
        var list = await SendAsync(RequestMethod.Get, "/computes", null, cancellationToken).ConfigureAwait(false);
        return (list["value"] as JsonArray ?? []).Select(c => (string?)c?["name"]).OfType<string>().Order(StringComparer.Ordinal).ToArray();
    }

    public Task<JsonObject> GetEnvironmentAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Get, $"/environments/{name}", null, cancellationToken);

    public Task<JsonObject> PutEnvironmentVersionAsync(string name, string version, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Put, $"/environments/{name}/versions/{version}", body, cancellationToken);

    public Task<JsonObject> PutJobAsync(string name, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Put, $"/jobs/{name}", body, cancellationToken);

    public Task<JsonObject> GetJobAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Get, $"/jobs/{name}", null, cancellationToken);

    public Task CancelJobAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Post, $"/jobs/{name}/cancel", null, cancellationToken);

    /// <summary>Run history's details of a job (its status, error and log files), from the history endpoint the workspace's discovery document names.</summary>
    public Task<JsonObject> GetRunDetailsAsync(Uri history, string job, CancellationToken cancellationToken) =>
        SendAsync(_arm, RequestMethod.Get, new Uri(history, $"history/v1.0/{_workspacePath}/runs/{job}/details"), null, cancellationToken);

    /// <summary>The document at a workspace's <c>discoveryUrl</c>: its service endpoints (<c>history</c>, <c>api</c>, ...).</summary>
    public Task<JsonObject> GetDiscoveryAsync(Uri discovery, CancellationToken cancellationToken) =>
        SendAsync(_arm, RequestMethod.Get, discovery, null, cancellationToken);

    /// <summary>A log file's bytes from <paramref name="offset"/> on, through its signed URL; empty when there are no more yet.</summary>
    public async Task<byte[]> ReadLogAsync(Uri url, long offset, CancellationToken cancellationToken)
    {
        using var message = _anonymous.CreateMessage();
        message.Request.Method = RequestMethod.Get;
        message.Request.Uri.Reset(url);
        if (offset > 0) message.Request.Headers.Add(HttpHeader.Names.Range, $"bytes={offset}-");
        await _anonymous.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (response.Status == (int)HttpStatusCode.RequestedRangeNotSatisfiable) return [];
        if (response.Status >= 400) throw new RequestFailedException(response);
        var bytes = response.Content.ToArray();
        // A server that ignores Range sends the whole file: keep only what is new.
        return response.Status == (int)HttpStatusCode.OK && offset > 0 ? bytes.Length > offset ? bytes[(int)offset..] : [] : bytes;
    }

    private Task<JsonObject> SendAsync(RequestMethod method, string path, JsonObject? body, CancellationToken cancellationToken) =>
        SendAsync(_arm, method, new Uri(_armEndpoint, $"{_workspacePath}{path}?api-version={ApiVersion}"), body, cancellationToken);

    private static async Task<JsonObject> SendAsync(HttpPipeline pipeline, RequestMethod method, Uri uri, JsonObject? body, CancellationToken cancellationToken)
    {
        using var message = pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(uri);
        message.Request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        if (body is not null)
        {
            message.Request.Headers.Add(HttpHeader.Names.ContentType, "application/json");
            message.Request.Content = RequestContent.Create(BinaryData.FromString(body.ToJsonString()));
        }
        else if (method == RequestMethod.Post) message.Request.Content = RequestContent.Create(BinaryData.FromString(""));
        try
        {
            await pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException e)
        {
            throw new StrataConfigException($"Microsoft Entra ID gave the azureml step operator no token: {FirstLine(e.Message)} (check tenant_id, " +
                "service_principal_id and service_principal_password, or the identity DefaultAzureCredential finds: AZURE_* variables, a managed " +
                "identity, az login).", e);
        }
        var response = message.Response;
        if (response.Status >= 400) throw new RequestFailedException(response);
        var text = response.Content.ToString();
        return text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
    }

    /// <summary>
    /// The service principal (client id and secret in the tenant) when given, else <c>DefaultAzureCredential</c>. Authority hosts
    /// other than Azure's own clouds are not checked against Azure's instance discovery (it would not know them).
    /// </summary>
    private static TokenCredential Credential(AzureMLStepOperatorConfig config, Uri? authority, HttpPipelineTransport? transport)
    {
        var custom = authority is not null && authority != AzureAuthorityHosts.AzurePublicCloud && authority != AzureAuthorityHosts.AzureGovernment
            && authority != AzureAuthorityHosts.AzureChina;
        var given = new[] { config.ServicePrincipalId, config.ServicePrincipalPassword }.Count(v => !string.IsNullOrWhiteSpace(v));
        if (given > 0)
        {
            if (given < 2 || string.IsNullOrWhiteSpace(config.TenantId))
                throw new StrataConfigException("A service principal needs all three of tenant_id, service_principal_id and service_principal_password " +
                    "(the last as a secret reference such as {{azure.client_secret}}); or give none, to use DefaultAzureCredential.");
            var options = new ClientSecretCredentialOptions { DisableInstanceDiscovery = custom };
            if (authority is not null) options.AuthorityHost = authority;
            if (transport is not null) options.Transport = transport;
            return new ClientSecretCredential(config.TenantId.Trim(), config.ServicePrincipalId!.Trim(), config.ServicePrincipalPassword!.Trim(), options);
        }
        var defaults = new DefaultAzureCredentialOptions { DisableInstanceDiscovery = custom };
        if (authority is not null) defaults.AuthorityHost = authority;
        if (!string.IsNullOrWhiteSpace(config.TenantId)) defaults.TenantId = config.TenantId.Trim();
        if (transport is not null) defaults.Transport = transport;
        return new DefaultAzureCredential(defaults);
    }

    /// <summary>The first line of an Azure.Identity message that says what failed (its later lines point at troubleshooting pages).</summary>
    private static string FirstLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault(l => l.Contains("AADSTS", StringComparison.Ordinal)) ?? lines.FirstOrDefault() ?? "";
    }

    private static string Segment(string? value, string key)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new StrataConfigException($"{key} is required by the azureml step operator.");
        var trimmed = value.Trim();
        if (trimmed.IndexOfAny(['/', '?', '#', ' ']) >= 0) throw new StrataConfigException($"{key} '{value}' is not an Azure resource name.");
        return Uri.EscapeDataString(trimmed);
    }

    private static Uri? Endpoint(string? url, string key)
    {
        if (string.IsNullOrWhiteSpace(url)) return null;
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            throw new StrataConfigException($"{key} '{url}' is not an https:// URL (Azure's clients send bearer tokens only over https).");
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    private sealed class AzureMLClientOptions : ClientOptions
    {
        public AzureMLClientOptions(int maxRetries, HttpPipelineTransport? transport)
        {
            Retry.MaxRetries = Math.Clamp(maxRetries, 0, 20);
            Retry.Mode = RetryMode.Exponential;
            Retry.Delay = TimeSpan.FromMilliseconds(500);
            Retry.MaxDelay = TimeSpan.FromSeconds(15);
            Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
            Diagnostics.ApplicationId = "strata";
            if (transport is not null) Transport = transport;
        }
    }
}
