using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Kubernetes;

/// <summary>
/// A Kubernetes API server on 127.0.0.1 over HTTPS that kubectl and Kubernetes clients accept: discovery, OpenAPI v3,
/// namespaces, batch/v1 Jobs, core/v1 Pods (with logs) and Secrets, watches, label and field selectors, delete
/// propagation, and Status errors with Kubernetes' reasons and codes. Every object sent is checked against Kubernetes'
/// own OpenAPI v3 schemas; each Job's pod runs for real with <c>podman kube play</c>, and its phase, container states,
/// exit code and logs come from podman.
/// </summary>
public sealed partial class KubernetesEmulator : IAsyncDisposable
{
    private readonly KubernetesEmulatorOptions _options;
    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;
    private readonly ObjectStore _store = new();
    private readonly FaultDice _dice;
    private readonly List<KubernetesRequest> _requests = [];
    private readonly Cluster _cluster;
    private readonly bool _ownsWorkDirectory;
    private readonly CancellationTokenSource _stopping = new();

    private KubernetesEmulator(KubernetesEmulatorOptions options, WebApplication app, X509Certificate2 certificate, string token, string workDirectory)
    {
        _options = options;
        _app = app;
        _certificate = certificate;
        Token = token;
        WorkDirectory = workDirectory;
        _ownsWorkDirectory = options.WorkDirectory is null;
        _dice = new FaultDice(options.RandomSeed);
        Schemas = OpenApiSchemas.LoadEmbedded();
        _cluster = new Cluster(options, _store, workDirectory, _stopping.Token);
        foreach (var ns in new[] { "default", "kube-system", "kube-public" })
            _store.TryAdd("namespaces", "", NewNamespace(ns), out _);
    }

    /// <summary>The API server's URL, https://127.0.0.1:PORT.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The bearer token every request must carry.</summary>
    public string Token { get; }

    /// <summary>The kubeconfig written at start (cluster with CA data, user token, context with namespace default).</summary>
    public string KubeconfigPath { get; private set; } = null!;

    /// <summary>The self-signed certificate the server presents, PEM (the kubeconfig's certificate-authority-data).</summary>
    public string CertificatePem => _certificate.ExportCertificatePem();

    public string WorkDirectory { get; }

    public OpenApiSchemas Schemas { get; }

    public KubernetesEmulatorOptions Options => _options;

    /// <summary>Every request answered so far, in order.</summary>
    public IReadOnlyList<KubernetesRequest> Requests
    {
        get { lock (_requests) return _requests.ToArray(); }
    }

    /// <summary>Starts the server on 127.0.0.1 and writes the kubeconfig.</summary>
    public static async Task<KubernetesEmulator> StartAsync(KubernetesEmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var certificate = CreateCertificate();
        var token = options.Token ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        var workDirectory = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"strata-kubernetes-emulator-{Guid.NewGuid():n}");
        Directory.CreateDirectory(workDirectory);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, options.Port, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseHttps(certificate);
        }));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var emulator = new KubernetesEmulator(options, app, certificate, token, workDirectory);
        app.Run(emulator.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.Endpoint = new Uri(address.TrimEnd('/'));
        emulator.KubeconfigPath = options.KubeconfigPath ?? Path.Combine(workDirectory, "kubeconfig");
        await File.WriteAllTextAsync(emulator.KubeconfigPath, emulator.Kubeconfig(), cancellationToken);
        return emulator;
    }

    /// <summary>The kubeconfig's text: one cluster, user, and context (namespace default), current.</summary>
    public string Kubeconfig()
    {
        var ca = Convert.ToBase64String(Encoding.ASCII.GetBytes(CertificatePem));
        var name = _options.ContextName;
        return $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: {{name}}
              cluster:
                server: {{Endpoint.ToString().TrimEnd('/')}}
                certificate-authority-data: {{ca}}
            users:
            - name: {{name}}
              user:
                token: {{Token}}
            contexts:
            - name: {{name}}
              context:
                cluster: {{name}}
                user: {{name}}
                namespace: default
            current-context: {{name}}
            preferences: {}

            """;
    }

    /// <summary>A stored object as the API server would return it (a copy), or null.</summary>
    public JsonObject? Get(string resource, string ns, string name) => _store.Get(resource, ns, name);

    /// <summary>The names of the podman pods the emulator runs now.</summary>
    public IReadOnlyCollection<string> RunningPodmanPods => _cluster.PodmanPods;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _cluster.StopAllAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        if (_ownsWorkDirectory)
        {
            try { Directory.Delete(WorkDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=strata-kubernetes-emulator", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    private static JsonObject NewNamespace(string name) => new()
    {
        ["kind"] = "Namespace",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["uid"] = Guid.NewGuid().ToString(),
            ["creationTimestamp"] = Now(),
            ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = name },
        },
        ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
        ["status"] = new JsonObject { ["phase"] = "Active" },
    };

    internal static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
