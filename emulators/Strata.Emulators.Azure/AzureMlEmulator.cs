using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure;

/// <summary>
/// Azure Machine Learning with Microsoft Entra ID on one loopback HTTPS endpoint (a self-signed certificate it makes at start,
/// <see cref="CertificatePath"/>): the Entra token endpoint for the configured applications (<see cref="AuthorityHost"/>), ARM
/// for Microsoft.MachineLearningServices workspaces, computes, environments and command jobs (PUT bodies checked against
/// Azure.Bicep.Types.Az at the request's api-version; every call needs a management token issued here), the workspace's
/// discovery document, run history and log files. Jobs run their command with <c>/bin/bash -c</c> for real, with a managed
/// identity (<c>MSI_ENDPOINT</c>/<c>MSI_SECRET</c>) whose tokens also an HTTPS Azurite with <c>--oauth basic</c> accepts.
/// </summary>
/// <example>
/// <code>
/// await using var azure = await AzureMlEmulator.StartAsync(new AzureMlEmulatorOptions
/// {
///     Applications = { new EntraApplication(tenant, clientId) { ClientSecret = "s3cret" } },
///     Workspaces = { new MlWorkspace(subscription, "rg", "ws") { Computes = { ["cpu"] = 2 } } },
///     Images = { ["strata/app:1"] = new EmulatedImage() },     // runs bash on the host
/// });
/// var credential = new ClientSecretCredential(tenant, clientId, "s3cret",
///     new ClientSecretCredentialOptions { AuthorityHost = azure.AuthorityHost, Transport = azure.Transport() });
/// </code>
/// </example>
public sealed class AzureMlEmulator : IAsyncDisposable
{
    private readonly AzureMlEmulatorOptions _options;
    private readonly WebApplication _app;
    private readonly Entra _entra;
    private readonly MachineLearning _ml;
    private readonly X509Certificate2 _certificate;
    private readonly FaultDice _dice;
    private readonly string _workDirectory;
    private readonly bool _ownsWorkDirectory;
    private readonly List<AzureRequest> _requests = [];

    private AzureMlEmulator(AzureMlEmulatorOptions options, WebApplication app, X509Certificate2 certificate, string workDirectory, bool owns)
    {
        _options = options;
        _app = app;
        _certificate = certificate;
        _workDirectory = workDirectory;
        _ownsWorkDirectory = owns;
        CertificatePath = Path.Combine(workDirectory, "emulator-cert.pem");
        File.WriteAllText(CertificatePath, certificate.ExportCertificatePem() + "\n");
        CaBundlePath = Path.Combine(workDirectory, "ca-bundle.pem");
        var bundle = new StringBuilder(File.ReadAllText(CertificatePath));
        foreach (var file in options.TrustedCertificateFiles) bundle.Append(File.ReadAllText(file)).Append('\n');
        // The system's CAs too: a job that trusts this bundle still reaches real HTTPS servers.
        if (File.Exists("/etc/ssl/certs/ca-certificates.crt")) bundle.Append(File.ReadAllText("/etc/ssl/certs/ca-certificates.crt"));
        File.WriteAllText(CaBundlePath, bundle.ToString());
        _entra = new Entra(options);
        _ml = new MachineLearning(options, _entra, workDirectory, CaBundlePath);
        _dice = new FaultDice(options.RandomSeed);
    }

    public AzureMlEmulatorOptions Options => _options;

    /// <summary>The base URL, <c>https://127.0.0.1:PORT/</c>: ARM (Azure Resource Manager), Entra ID and the workspace's data plane.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The authority host for Azure.Identity (<c>AuthorityHost</c>, <c>AZURE_AUTHORITY_HOST</c>) and MSAL: the same endpoint.</summary>
    public Uri AuthorityHost => Endpoint;

    /// <summary>The emulator's TLS certificate (PEM), for clients to trust.</summary>
    public string CertificatePath { get; }

    /// <summary>A CA bundle (PEM): the emulator's certificate, <see cref="AzureMlEmulatorOptions.TrustedCertificateFiles"/>, the system's CAs.</summary>
    public string CaBundlePath { get; }

    /// <summary>The emulator's TLS certificate.</summary>
    public X509Certificate2 Certificate => _certificate;

    /// <summary>Share of ARM requests answered with 429 TooManyRequests and Retry-After; may change while running.</summary>
    public double ThrottleRate { get => _options.ThrottleRate; set => _options.ThrottleRate = value; }

    /// <summary>Share of ARM requests answered with 503 ServiceUnavailable and Retry-After; may change while running.</summary>
    public double ServerErrorRate { get => _options.ServerErrorRate; set => _options.ServerErrorRate = value; }

    /// <summary>Every request answered so far, in order (token requests included: their form bodies carry client secrets by nature).</summary>
    public IReadOnlyList<AzureRequest> Requests
    {
        get { lock (_requests) return _requests.ToArray(); }
    }

    /// <summary>
    /// The environment that points a process (a client such as the Azure ML Python SDK, or <c>EnvironmentCredential</c>) at the
    /// emulator: trust of its certificate (<c>SSL_CERT_FILE</c>, <c>REQUESTS_CA_BUNDLE</c>), <c>AZURE_AUTHORITY_HOST</c>, and
    /// <c>AZUREML_DEV_URL_MFE</c> (the SDK's ARM base URL).
    /// </summary>
    public IReadOnlyDictionary<string, string> ClientEnvironment() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["SSL_CERT_FILE"] = CaBundlePath,
        ["REQUESTS_CA_BUNDLE"] = CaBundlePath,
        ["AZURE_AUTHORITY_HOST"] = AuthorityHost.ToString(),
        ["AZUREML_DEV_URL_MFE"] = Endpoint.ToString().TrimEnd('/'),
    };

    /// <summary>An HTTP handler that trusts the emulator's certificate (and the options' trusted ones) and nothing else self-signed.</summary>
    public HttpClientHandler CreateHandler()
    {
        var trusted = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(_certificate.RawData) };
        foreach (var file in _options.TrustedCertificateFiles) trusted.ImportFromPemFile(file);
        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
            {
                if (errors == System.Net.Security.SslPolicyErrors.None) return true;
                if (cert is null) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            },
        };
    }

    /// <summary>Starts the emulator on 127.0.0.1 and the options' port (by default a free one).</summary>
    public static async Task<AzureMlEmulator> StartAsync(AzureMlEmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var owns = options.WorkDirectory is null;
        var workDirectory = options.WorkDirectory ?? Directory.CreateTempSubdirectory("strata-azureml-emulator-").FullName;
        Directory.CreateDirectory(workDirectory);
        var certificate = options.Certificate ?? Entra.CreateTlsCertificate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, options.Port, l => l.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
        })));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var emulator = new AzureMlEmulator(options, app, certificate, workDirectory, owns);
        app.Run(emulator.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.Endpoint = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        emulator._ml.Endpoint = emulator.Endpoint;
        return emulator;
    }

    /// <summary>Registers an application (service principal) the token endpoint accepts from now on.</summary>
    public void AddApplication(EntraApplication application) => _entra.Add(application);

    /// <summary>Registers a workspace (with its computes) ARM knows from now on.</summary>
    public void AddWorkspace(MlWorkspace workspace) => _ml.AddWorkspace(workspace);

    /// <summary>Issues a token as the token endpoint would, for an audience such as <c>https://management.azure.com</c>.</summary>
    public string IssueToken(string audience, string tenantId, string objectId, string appId) => _entra.Issue(audience, tenantId, objectId, appId);

    /// <summary>A job's status (<c>NotStarted</c>, <c>Queued</c>, ..., <c>Completed</c>); null when there is no such job.</summary>
    public string? JobStatus(string name)
    {
        var job = _ml.Job(name);
        if (job is null) return null;
        lock (job) return job.Status;
    }

    /// <summary>Every status a job has been in, in order.</summary>
    public IReadOnlyList<string> JobHistory(string name)
    {
        var job = _ml.Job(name);
        if (job is null) return [];
        lock (job) return job.History.ToArray();
    }

    /// <summary>The names of all jobs created so far.</summary>
    public IReadOnlyList<string> JobNames => _ml.Jobs().Select(j => j.Name).ToArray();

    /// <summary>The directory a job's process runs in (local images).</summary>
    public string JobDirectory(string name) => Path.Combine(_workDirectory, "jobs", name);

    /// <summary>A job's log (user_logs/std_log.txt) so far.</summary>
    public string JobLog(string name) => _ml.Job(name) is { } job && File.Exists(job.LogPath) ? File.ReadAllText(job.LogPath) : "";

    /// <summary>The exit code of a job's process, once it ended.</summary>
    public int? JobExitCode(string name) => _ml.Job(name)?.ExitCode;

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var api = "arm";
        var body = "";
        var recorded = false;
        Task Record(string b)
        {
            body = b;
            recorded = true;
            return Task.CompletedTask;
        }
        try
        {
            if (path.StartsWith("/mferp/managementfrontend/", StringComparison.OrdinalIgnoreCase)) path = path["/mferp/managementfrontend".Length..];
            if (path.StartsWith("/azureml/ExperimentRun/", StringComparison.Ordinal))
            {
                api = "logs";
                await _ml.ServeLogAsync(context);
                return;
            }
            api = "entra";
            if (await _entra.TryHandleAsync(context, Endpoint, Record)) return;
            using (var reader = new StreamReader(request.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync(context.RequestAborted);
            recorded = true;
            if (path.StartsWith("/discovery/workspaces/", StringComparison.Ordinal))
            {
                api = "discovery";
                await Entra.WriteJsonAsync(context, 200, _ml.Discovery());
                return;
            }
            if (path.StartsWith("/history/", StringComparison.OrdinalIgnoreCase))
            {
                api = "history";
                Authenticate(request, "https://management.azure.com", "https://ml.azure.com");
                await Entra.WriteJsonAsync(context, 200, _ml.History(path));
                return;
            }
            api = "arm";
            var route = MachineLearning.RouteOf(request.Method, path)
                ?? throw new AzureApiException(404, "NotFound", $"The requested resource {path} is not served by the emulator.");
            var claims = Authenticate(request, "https://management.azure.com");
            var apiVersion = request.Query["api-version"].ToString();
            if (apiVersion.Length == 0)
                throw new AzureApiException(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
            InjectFault();
            var (status, json, headers) = _ml.Arm(route, apiVersion, body, claims);
            bool lost;
            lock (_options.LoseNextResponse) lost = _options.LoseNextResponse.Remove(route.Operation);
            if (lost)
            {
                // The request took effect, but its answer never arrives: the connection drops.
                context.Response.StatusCode = 599;
                context.Abort();
                return;
            }
            foreach (var (k, v) in headers) context.Response.Headers[k] = v;
            context.Response.Headers["x-ms-request-id"] = Guid.NewGuid().ToString();
            if (json is null)
            {
                context.Response.StatusCode = status;
                return;
            }
            await Entra.WriteJsonAsync(context, status, json);
        }
        catch (AzureApiException e)
        {
            foreach (var (k, v) in e.Headers) context.Response.Headers[k] = v;
            if (!context.Response.HasStarted) await Entra.WriteJsonAsync(context, e.Status, e.ToJson());
        }
        catch (EntraException e)
        {
            await Entra.WriteErrorAsync(context, e, _options.Time);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug of the emulator: answered as ARM answers its own failures, with the trace for whoever reads the log.
            if (!context.Response.HasStarted)
                await Entra.WriteJsonAsync(context, 500, new AzureApiException(500, "InternalServerError", $"Emulator failure: {e}").ToJson());
        }
        finally
        {
            var entry = new AzureRequest(api, request.Method, path + request.QueryString, recorded ? body : "", context.Response.StatusCode,
                _options.Time.GetUtcNow());
            lock (_requests) _requests.Add(entry);
            _options.OnRequest?.Invoke(entry);
        }
    }

    private JsonObject Authenticate(HttpRequest request, params string[] audiences)
    {
        var problem = "";
        foreach (var audience in audiences)
        {
            var (claims, why) = _entra.Validate(request.Headers.Authorization.ToString(), audience);
            if (claims is not null) return claims;
            if (problem.Length == 0) problem = why;
        }
        var error = new AzureApiException(401, request.Headers.Authorization.Count == 0 ? "AuthenticationFailed" : "InvalidAuthenticationToken",
            request.Headers.Authorization.Count == 0 ? $"Authentication failed. {problem}" : problem);
        error.Headers["WWW-Authenticate"] = $"Bearer authorization_uri=\"{AuthorityHost}{_entra.DefaultTenant}\", error=\"invalid_token\", "
            + $"error_description=\"{problem.Replace("\"", "'", StringComparison.Ordinal)}\"";
        throw error;
    }

    private void InjectFault()
    {
        var fault = _dice.Roll(_options.ThrottleRate, _options.ServerErrorRate);
        if (fault == InjectedFault.Throttle)
            throw new AzureApiException(429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type. "
                + "Please retry after 1 second.") { Headers = { ["Retry-After"] = "1" } };
        if (fault == InjectedFault.ServerError)
            throw new AzureApiException(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry.")
            {
                Headers = { ["Retry-After"] = "1" },
            };
    }

    public async ValueTask DisposeAsync()
    {
        await _ml.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (!ReferenceEquals(_certificate, _options.Certificate)) _certificate.Dispose(); // a given certificate is its owner's
        if (_ownsWorkDirectory)
        {
            try { Directory.Delete(_workDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
