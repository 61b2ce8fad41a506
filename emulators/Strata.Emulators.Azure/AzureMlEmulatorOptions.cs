using System.Security.Cryptography.X509Certificates;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure;

/// <summary>
/// How the Azure ML emulator behaves: the Entra ID applications that may sign in, the workspaces and computes that exist,
/// which images jobs can run, how long jobs queue, and faults to inject. Workspaces and applications may also be added
/// after start (<see cref="AzureMlEmulator.AddApplication"/>, <see cref="AzureMlEmulator.AddWorkspace"/>).
/// </summary>
public sealed class AzureMlEmulatorOptions : JobEmulatorOptions
{
    /// <summary>Applications (service principals) the token endpoint accepts.</summary>
    public List<EntraApplication> Applications { get; } = [];

    /// <summary>Workspaces ARM knows, with their computes.</summary>
    public List<MlWorkspace> Workspaces { get; } = [];

    /// <summary>How long a job stays Queued before it is prepared (besides waiting for compute capacity).</summary>
    public TimeSpan QueueTime { get; set; }

    /// <summary>Why a job is held in Queued (shown as a warning of its run, as the scheduler's message); null: none.</summary>
    public string? QueueReason { get; set; }

    /// <summary>What every job's process gets in its environment, under the job's own environmentVariables.</summary>
    public Dictionary<string, string> JobEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// PEM certificates job processes (and clients using <see cref="AzureMlEmulator.ClientEnvironment"/>) must trust besides the
    /// emulator's own, e.g. an HTTPS Azurite's; they go into the CA bundle named by <c>SSL_CERT_FILE</c>.
    /// </summary>
    public List<string> TrustedCertificateFiles { get; } = [];

    /// <summary>
    /// The TLS certificate (with its private key) to serve, e.g. one a test process already trusts; null: a self-signed one
    /// for 127.0.0.1 and localhost, made at start.
    /// </summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Whether values of Azure's extensible enums (modelAsString) must be one of the values the api-version lists.</summary>
    public bool StrictEnums { get; set; } = true;

    /// <summary>Called with every answered request, e.g. for a console log.</summary>
    public Action<AzureRequest>? OnRequest { get; set; }
}

/// <summary>
/// An Entra ID application registration in a tenant: its client id and the credential it proves itself with, a client secret
/// or a certificate (public part suffices). <see cref="ObjectId"/> is its service principal's object id in tokens.
/// </summary>
public sealed record EntraApplication(string TenantId, string ClientId)
{
    public string? ClientSecret { get; init; }

    public X509Certificate2? Certificate { get; init; }

    public string ObjectId { get; init; } = Guid.NewGuid().ToString();
}

/// <summary>An Azure ML workspace: where it is and which computes it has (name → node count, the jobs it runs at once).</summary>
public sealed record MlWorkspace(string SubscriptionId, string ResourceGroup, string Name)
{
    public string Location { get; init; } = "westeurope";

    /// <summary>The tenant whose tokens ARM accepts for this workspace's subscription; null: any tenant configured.</summary>
    public string? TenantId { get; init; }

    /// <summary>Compute clusters by name, with how many jobs each runs at once (its max nodes); more wait in Queued.</summary>
    public Dictionary<string, int> Computes { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public string Id => $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/{Name}";
}

/// <summary>A request as received: which API (entra, arm, history, logs, msi), method, path with query, body, and the answer's status.</summary>
public sealed record AzureRequest(string Api, string Method, string Path, string Body, int Status, DateTimeOffset At);
