using System.Text.Json.Nodes;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure.Tests;

/// <summary>
/// An Azure ML emulator with one tenant, application, workspace (compute <c>cpu</c>) and an emulated image <see cref="Image"/>
/// whose jobs run bash on this machine; and an ARM client of it: an Azure.Core pipeline signed in with ClientSecretCredential.
/// </summary>
public sealed class AzureMlStack : IAsyncDisposable
{
    public const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string ClientId = "0f8fad5b-d9cb-469f-a165-70867728950e";
    public const string ClientSecret = "emulated-client-secret-5d1f";
    public const string Subscription = "6e1c4f2a-0b6f-4a8e-9d52-3b8d2f1a7c90";
    public const string ResourceGroup = "strata-rg";
    public const string WorkspaceName = "strata-ws";
    public const string Image = "strata.azurecr.io/strata/bash:1";
    public const string ApiVersion = "2024-10-01";

    private AzureMlStack(AzureMlEmulator emulator, HttpPipeline pipeline, ClientSecretCredential credential, HttpClientTransport transport)
    {
        Emulator = emulator;
        Pipeline = pipeline;
        Credential = credential;
        Transport = transport;
    }

    public AzureMlEmulator Emulator { get; }

    public HttpPipeline Pipeline { get; }

    public ClientSecretCredential Credential { get; }

    /// <summary>A transport that trusts the emulator's certificate.</summary>
    public HttpClientTransport Transport { get; }

    public static string WorkspacePath =>
        $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/{WorkspaceName}";

    public static async Task<AzureMlStack> StartAsync(Action<AzureMlEmulatorOptions>? configure = null, int computeNodes = 4)
    {
        var options = new AzureMlEmulatorOptions { PhaseDelay = TimeSpan.FromMilliseconds(20), StopGracePeriod = TimeSpan.FromSeconds(2) };
        options.Applications.Add(new EntraApplication(Tenant, ClientId) { ClientSecret = ClientSecret });
        options.Workspaces.Add(new MlWorkspace(Subscription, ResourceGroup, WorkspaceName) { Computes = { ["cpu"] = computeNodes }, TenantId = Tenant });
        options.Images[Image] = new EmulatedImage { Environment = new Dictionary<string, string> { ["IMAGE_NAME"] = "bash" } };
        configure?.Invoke(options);
        var emulator = await AzureMlEmulator.StartAsync(options);
        var transport = new HttpClientTransport(emulator.CreateHandler());
        var credential = new ClientSecretCredential(Tenant, ClientId, ClientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = emulator.AuthorityHost,
            Transport = transport,
        });
        var clientOptions = new ArmOptions { Transport = transport };
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(50);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        clientOptions.Retry.MaxRetries = 6;
        var pipeline = HttpPipelineBuilder.Build(clientOptions, new BearerTokenAuthenticationPolicy(credential, "https://management.azure.com/.default"));
        return new AzureMlStack(emulator, pipeline, credential, transport);
    }

    /// <summary>Sends an ARM request (api-version appended unless the path has one); the status and the body as JSON (null when empty).</summary>
    public async Task<(int Status, JsonNode? Body, Response Response)> SendAsync(RequestMethod method, string path, JsonNode? body = null,
        string apiVersion = ApiVersion)
    {
        using var message = Pipeline.CreateMessage();
        var url = new Uri(Emulator.Endpoint, path.TrimStart('/')).ToString();
        if (!url.Contains("api-version=", StringComparison.Ordinal) && apiVersion.Length > 0)
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "api-version=" + apiVersion;
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(url));
        if (body is not null)
        {
            message.Request.Headers.Add("Content-Type", "application/json");
            message.Request.Content = RequestContent.Create(BinaryData.FromString(body.ToJsonString()));
        }
        await Pipeline.SendAsync(message, CancellationToken.None);
        var response = message.Response;
        var text = response.Content.ToString();
        return (response.Status, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    /// <summary>Puts an environment version with the image (default: the emulated <see cref="Image"/>); its ARM id.</summary>
    public async Task<string> PutEnvironmentAsync(string name = "strata-env", string version = "1", string image = Image)
    {
        var (status, body, _) = await SendAsync(RequestMethod.Put, $"{WorkspacePath}/environments/{name}/versions/{version}",
            new JsonObject { ["properties"] = new JsonObject { ["image"] = image, ["description"] = "test" } });
        Assert.True(status is 200 or 201, $"{status}: {body}");
        return (string)body!["id"]!;
    }

    /// <summary>A command job's body, as the azureml step operator sends it.</summary>
    public static JsonObject CommandJob(string environmentId, string command, string? timeout = null, Dictionary<string, string>? environment = null)
    {
        var properties = new JsonObject
        {
            ["jobType"] = "Command",
            ["command"] = command,
            ["environmentId"] = environmentId,
            ["computeId"] = $"{WorkspacePath}/computes/cpu",
            ["experimentName"] = "strata",
            ["displayName"] = "step",
        };
        if (timeout is not null) properties["limits"] = new JsonObject { ["jobLimitsType"] = "Command", ["timeout"] = timeout };
        if (environment is not null)
            properties["environmentVariables"] = new JsonObject(environment.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)JsonValue.Create(e.Value))));
        return new JsonObject { ["properties"] = properties };
    }

    /// <summary>Creates a job and returns its name.</summary>
    public async Task<string> SubmitAsync(string command, string? name = null, string? timeout = null, Dictionary<string, string>? environment = null)
    {
        var env = await PutEnvironmentAsync();
        name ??= "job-" + Guid.NewGuid().ToString("n")[..12];
        var (status, body, _) = await SendAsync(RequestMethod.Put, $"{WorkspacePath}/jobs/{name}", CommandJob(env, command, timeout, environment));
        Assert.True(status is 200 or 201, $"{status}: {body}");
        return name;
    }

    /// <summary>Polls the job over ARM until its status is one of <paramref name="statuses"/>.</summary>
    public async Task<string> WaitForStatusAsync(string name, TimeSpan patience, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var (_, body, _) = await SendAsync(RequestMethod.Get, $"{WorkspacePath}/jobs/{name}");
            var status = (string)body!["properties"]!["status"]!;
            if (statuses.Contains(status)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"job {name} is {status}, not {string.Join('|', statuses)}; log: {Emulator.JobLog(name)}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await Emulator.DisposeAsync();

    private sealed class ArmOptions : ClientOptions;
}
