using System.Text.Json.Nodes;
using Azure.Storage;
using Azure.Storage.Blobs;
using Strata.Emulators.Azure;
using Strata.Emulators.Jobs;

namespace Strata.Azure.Tests.MachineLearning;

/// <summary>
/// Azure as the azureml tests have it: the Azure ML + Entra ID emulator (HTTPS, bearer tokens required) with a service
/// principal, a workspace and its compute clusters, and an HTTPS Azurite that takes Entra tokens, whose container the jobs
/// reach as their compute's managed identity. Both serve the test process's trusted certificate. A job image runs on this
/// machine with only the environment a container would have.
/// </summary>
public sealed class AzureMLStack : IAsyncDisposable
{
    public const string Tenant = "5f3c0d7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    public const string ClientId = "9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
    public const string Subscription = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
    public const string ResourceGroup = "strata-rg";
    public const string Workspace = "strata-ws";
    public const string Compute = "gpu-cluster";
    public const string Image = "strataacr.azurecr.io/strata/app:1";

    /// <summary>A compute cluster without a free node: jobs on it stay Queued.</summary>
    public const string BusyCompute = "busy-cluster";

    private readonly TempDirectory _temp;

    private AzureMLStack(TempDirectory temp, AzureMlEmulator emulator, HttpsAzurite azurite, string container, string clientSecret)
    {
        _temp = temp;
        Emulator = emulator;
        Azurite = azurite;
        Container = container;
        ClientSecret = clientSecret;
    }

    public AzureMlEmulator Emulator { get; }

    public HttpsAzurite Azurite { get; }

    public string Container { get; }

    /// <summary>The service principal's client secret (a fresh one per stack, so a test can look for it in every request).</summary>
    public string ClientSecret { get; }

    public string Directory => _temp.Path;

    public string StorePath => $"az://{Container}/strata";

    public static async Task<AzureMLStack> StartAsync(Action<AzureMlEmulatorOptions>? configure = null)
    {
        var temp = new TempDirectory("strata-azureml-stack");
        System.IO.Directory.CreateDirectory(temp.Combine("job-home"));
        var azurite = await HttpsAzurite.StartAsync(TrustedTestCertificate.Certificate);
        var secret = $"s3cr3t~{Guid.NewGuid():N}";
        var options = new AzureMlEmulatorOptions
        {
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
            StopGracePeriod = TimeSpan.FromSeconds(3),
            WorkDirectory = temp.Combine("jobs"),
            Certificate = TrustedTestCertificate.Certificate,
        };
        options.Applications.Add(new EntraApplication(Tenant, ClientId) { ClientSecret = secret });
        options.Workspaces.Add(new MlWorkspace(Subscription, ResourceGroup, Workspace)
        {
            TenantId = Tenant,
            Computes = { [Compute] = 8, [BusyCompute] = 0 },
        });
        options.Images[Image] = JobImage(temp.Combine("job-home"));
        configure?.Invoke(options);
        var emulator = await AzureMlEmulator.StartAsync(options);
        var container = $"lake-{Guid.NewGuid():N}"[..24];
        var client = new BlobContainerClient(new Uri($"{azurite.Endpoint}/{container}"), new StorageSharedKeyCredential(HttpsAzurite.AccountName,
            HttpsAzurite.AccountKey));
        await client.CreateAsync();
        return new AzureMLStack(temp, emulator, azurite, container, secret);
    }

    /// <summary>The image's process: bash on this machine, with only the environment a container would have.</summary>
    public static EmulatedImage JobImage(string home)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = home,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) environment["DOTNET_ROOT"] = root;
        return new EmulatedImage { Environment = environment };
    }

    /// <summary>The command that starts the app in the job image: this build's <c>strata</c> command (the image here is this machine).</summary>
    public static string Entrypoint => $"{RepoPaths.Dotnet()},{RepoPaths.StrataDll}";

    /// <summary>
    /// The operator's config, as <c>strata step-operator register</c> takes it: the seed's keys, the emulator's hosts, and the
    /// service principal with its secret as the reference <c>{{azureml.client_secret}}</c>.
    /// </summary>
    public Dictionary<string, string> OperatorConfig() => new()
    {
        ["subscription_id"] = Subscription,
        ["resource_group"] = ResourceGroup,
        ["workspace_name"] = Workspace,
        ["compute_target_name"] = Compute,
        ["image"] = Image,
        ["entrypoint"] = Entrypoint,
        ["tenant_id"] = Tenant,
        ["service_principal_id"] = ClientId,
        ["service_principal_password"] = "{{azureml.client_secret}}",
        ["arm_endpoint"] = Emulator.Endpoint.ToString(),
        ["authority_host"] = Emulator.AuthorityHost.ToString(),
    };

    /// <summary>The store's config: Azurite over HTTPS with the account key as the reference <c>{{azurite.account_key}}</c>.</summary>
    public Dictionary<string, string> StoreConfig() => new()
    {
        ["path"] = StorePath,
        ["account_name"] = HttpsAzurite.AccountName,
        ["endpoint_url"] = Azurite.Endpoint,
        ["account_key"] = "{{azurite.account_key}}",
    };

    public IReadOnlyDictionary<string, string> Secrets(string name) => name == "azureml"
        ? new Dictionary<string, string> { ["client_secret"] = ClientSecret }
        : new Dictionary<string, string> { ["account_key"] = HttpsAzurite.AccountKey };

    /// <summary>The job bodies ARM accepted (PUT .../jobs/NAME), as sent.</summary>
    public IReadOnlyList<JsonObject> CreatedJobs() => Emulator.Requests
        .Where(r => r.Method == "PUT" && r.Path.Contains("/jobs/", StringComparison.Ordinal) && r.Status is 200 or 201)
        .Select(r => JsonNode.Parse(r.Body)!.AsObject())
        .ToArray();

    /// <summary>
    /// What a <c>strata</c> command (with a home of its own, so not this user's trust store) needs to trust the emulator and
    /// Azurite: their certificate as the CA bundle.
    /// </summary>
    public static Dictionary<string, string> TrustEnvironment() => new() { ["SSL_CERT_FILE"] = TrustedTestCertificate.PemPath };

    /// <summary>
    /// The environment the <c>strata</c> command runs with: signed in to Entra ID as the service principal through
    /// <c>DefaultAzureCredential</c>'s environment variables, against the emulator's authority, trusting its certificate.
    /// </summary>
    public Dictionary<string, string> SignedInEnvironment() => new(TrustEnvironment())
    {
        ["AZURE_TENANT_ID"] = Tenant,
        ["AZURE_CLIENT_ID"] = ClientId,
        ["AZURE_CLIENT_SECRET"] = ClientSecret,
        ["AZURE_AUTHORITY_HOST"] = Emulator.AuthorityHost.ToString(),
    };

    /// <summary>Runs the <c>strata</c> command of this build in the stack's directory with its own home, as a user would.</summary>
    public (int ExitCode, string Out, string Error) Strata(string home, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        StrataProcess.Run(_temp.Path, home, environment, args);

    public async ValueTask DisposeAsync()
    {
        await Emulator.DisposeAsync();
        await Azurite.DisposeAsync();
        _temp.Dispose();
    }
}
