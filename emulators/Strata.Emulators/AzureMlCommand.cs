using System.CommandLine;
using System.Globalization;
using Strata.Emulators.Azure;
using Strata.Emulators.Jobs;

namespace Strata.Emulators;

/// <summary>
/// <c>strata-emulators azureml</c>: Azure Machine Learning (ARM for workspaces, computes, environments and command jobs, run
/// history, log files) and Microsoft Entra ID on one HTTPS endpoint, for the azureml step operator and Azure's own clients.
/// </summary>
internal sealed class AzureMlCommand : IEmulator
{
    private readonly Option<string> _tenant = new("--tenant")
    {
        Description = "The Entra ID tenant (directory) id of the application.",
        DefaultValueFactory = _ => "00000000-0000-0000-0000-0000000000a1",
    };

    private readonly Option<string> _clientId = new("--client-id")
    {
        Description = "The application (client) id the token endpoint accepts.",
        DefaultValueFactory = _ => "00000000-0000-0000-0000-0000000000c1",
    };

    private readonly Option<string?> _clientSecret = new("--client-secret")
    {
        Description = "Its client secret; default: a random one, written to client-secret in the work directory (never printed).",
    };

    private readonly Option<string> _subscription = new("--subscription")
    {
        Description = "The subscription id of the workspace.",
        DefaultValueFactory = _ => "00000000-0000-0000-0000-0000000000b1",
    };

    private readonly Option<string> _resourceGroup = new("--resource-group")
    {
        Description = "The resource group of the workspace.",
        DefaultValueFactory = _ => "strata",
    };

    private readonly Option<string> _workspace = new("--workspace")
    {
        Description = "The workspace's name.",
        DefaultValueFactory = _ => "strata",
    };

    private readonly Option<string[]> _computes = new("--compute")
    {
        Description = "A compute cluster as NAME=NODES (how many jobs it runs at once); repeat for several. Default: cpu=4.",
        HelpName = "NAME=NODES",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _images = new("--image")
    {
        Description = "An image whose jobs run their command with bash on this machine (an environment's properties.image); repeatable. Other "
            + "images run with --container-runner, or fail as images that cannot be pulled.",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _containerRunner = new("--container-runner")
    {
        Description = "The command that runs other images, e.g. 'podman run --rm --network host --init'.",
    };

    private readonly Option<string[]> _trust = new("--trust-cert")
    {
        Description = "A PEM certificate jobs trust besides the emulator's (e.g. an HTTPS Azurite's); repeatable.",
        HelpName = "FILE",
    };

    private readonly Option<DirectoryInfo?> _workDirectory = new("--work-dir")
    {
        Description = "Where the certificate, the secret and job directories go; default: a temporary directory removed at exit.",
    };

    private readonly Option<double> _queueSeconds = new("--queue-seconds")
    {
        Description = "How long each job stays Queued before it starts.",
        CustomParser = r => EmulatorHost.Number(r, "--queue-seconds", 0.0, 86400.0),
    };

    private readonly Option<string?> _queueReason = new("--queue-reason")
    {
        Description = "Why jobs are held in Queued (a warning of the run).",
    };

    private readonly Option<double> _throttleRate = EmulatorHost.FaultRate("--throttle-rate",
        "Share of ARM requests answered with 429 TooManyRequests, from 0 to 1.");

    private readonly Option<double> _serverErrorRate = EmulatorHost.FaultRate("--server-error-rate",
        "Share of ARM requests answered with 503 ServiceUnavailable, from 0 to 1.");

    public AzureMlCommand()
    {
        _computes.Validators.Add(r =>
        {
            foreach (var compute in r.GetValueOrDefault<string[]>() ?? [])
                if (Compute(compute) is null) r.AddError($"--compute '{compute}' must be NAME=NODES with NODES a number from 0 to 1000.");
        });
        _containerRunner.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } runner && Shell.Words(runner) is not { Length: > 0 })
                r.AddError($"--container-runner '{runner}' is empty or badly quoted.");
        });
    }

    public string Name => "azureml";

    public string Description => "Azure Machine Learning command jobs (ARM checked against Azure.Bicep.Types.Az, run for real with a managed identity), "
        + "run history and logs, with an Entra ID token endpoint, on one HTTPS endpoint: for the azureml step operator and the Azure ML Python SDK.";

    public IReadOnlyList<Option> Options =>
        [_tenant, _clientId, _clientSecret, _subscription, _resourceGroup, _workspace, _computes, _images, _containerRunner, _trust, _workDirectory,
            _queueSeconds, _queueReason, _throttleRate, _serverErrorRate];

    private static (string Name, int Nodes)? Compute(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && int.TryParse(text[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 1000 ? (text[..eq], n) : null;
    }

    public async Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken)
    {
        var work = options.GetValue(_workDirectory)?.FullName;
        var tenant = options.GetValue(_tenant)!;
        var clientId = options.GetValue(_clientId)!;
        var secret = options.GetValue(_clientSecret) ?? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var workspace = new MlWorkspace(options.GetValue(_subscription)!, options.GetValue(_resourceGroup)!, options.GetValue(_workspace)!)
        {
            TenantId = tenant,
        };
        foreach (var (name, nodes) in (options.GetValue(_computes) is { Length: > 0 } c ? c : ["cpu=4"]).Select(x => Compute(x)!.Value))
            workspace.Computes[name] = nodes;
        var settings = new AzureMlEmulatorOptions
        {
            Port = port,
            WorkDirectory = work,
            ContainerRunner = options.GetValue(_containerRunner) is { } runner ? Shell.Words(runner) : null,
            QueueTime = TimeSpan.FromSeconds(options.GetValue(_queueSeconds)),
            QueueReason = options.GetValue(_queueReason),
            ThrottleRate = options.GetValue(_throttleRate),
            ServerErrorRate = options.GetValue(_serverErrorRate),
            OnRequest = r => Console.Error.WriteLine($"{r.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {r.Api} {r.Method} {r.Path} {r.Status}"),
        };
        settings.Applications.Add(new EntraApplication(tenant, clientId) { ClientSecret = secret });
        settings.Workspaces.Add(workspace);
        foreach (var file in options.GetValue(_trust) ?? []) settings.TrustedCertificateFiles.Add(Path.GetFullPath(file));
        var images = options.GetValue(_images) ?? [];
        foreach (var image in images) settings.Images[image] = new EmulatedImage();

        var emulator = await AzureMlEmulator.StartAsync(settings, cancellationToken);
        var secretFile = Path.Combine(Path.GetDirectoryName(emulator.CertificatePath)!, "client-secret");
        await File.WriteAllTextAsync(secretFile, secret, cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(secretFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var endpoint = emulator.Endpoint.ToString();
        List<string> lines =
        [
            $"Azure ML emulator listening on {endpoint} (ARM, Entra ID token endpoint, run history), workspace {workspace.Id}, computes "
                + string.Join(", ", workspace.Computes.Select(x => $"{x.Key} ({x.Value} nodes)")),
            $"TLS certificate (trust it): {emulator.CertificatePath}; CA bundle with the system's CAs: {emulator.CaBundlePath}",
            $"Application: tenant {tenant}, client id {clientId}, client secret in {secretFile}",
            "For Strata, Azure.Identity and the Azure ML Python SDK (azure-ai-ml):",
        ];
        foreach (var (k, v) in emulator.ClientEnvironment()) lines.Add($"export {k}={Shell.Quote(v)}");
        lines.Add($"export AZURE_TENANT_ID={Shell.Quote(tenant)} AZURE_CLIENT_ID={Shell.Quote(clientId)} AZURE_CLIENT_SECRET=$(cat {Shell.Quote(secretFile)})");
        lines.Add($"Workspace: subscription {workspace.SubscriptionId}, resource group {workspace.ResourceGroup}, workspace {workspace.Name}; ARM and "
            + $"the token endpoint (authority host) are both {endpoint}");
        foreach (var image in images) lines.Add($"Image {image} runs job commands with bash on this machine.");
        return new RunningEmulator(emulator, lines);
    }
}
