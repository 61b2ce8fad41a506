using System.CommandLine;
using System.Globalization;
using Strata.Emulators.Kubernetes;

namespace Strata.Emulators;

/// <summary><c>strata-emulators kubernetes</c>: a Kubernetes API server whose Jobs' pods run with podman.</summary>
internal sealed class KubernetesCommand : IEmulator
{
    private readonly Option<FileInfo?> _kubeconfig = new("--kubeconfig")
    {
        Description = "Where to write the kubeconfig (server, CA data, token, context with namespace default); default: kubeconfig in the work directory.",
    };

    private readonly Option<string?> _token = new("--token")
    {
        Description = "The bearer token clients must send; default: a random one, written to the kubeconfig.",
    };

    private readonly Option<DirectoryInfo?> _workDirectory = new("--work-dir")
    {
        Description = "Where the kubeconfig and pod files go; default: a temporary directory removed at exit.",
    };

    private readonly Option<string> _podman = new("--podman")
    {
        Description = "The podman command that runs pods (with podman kube play).",
        DefaultValueFactory = _ => "podman",
    };

    private readonly Option<string[]> _podmanEnv = new("--podman-env")
    {
        Description = "NAME=VALUE for podman's environment (e.g. CONTAINERS_CONF=...); repeatable. podman also inherits this process's environment.",
        HelpName = "NAME=VALUE",
    };

    private readonly Option<string[]> _capacity = new("--capacity")
    {
        Description = "The node's allocatable resource as NAME=QUANTITY (cpu=4, memory=8Gi, nvidia.com/gpu=1); repeatable. Pods whose requests do not fit stay Pending (Unschedulable).",
        HelpName = "NAME=QUANTITY",
    };

    private readonly Option<double> _throttleRate = EmulatorHost.FaultRate("--throttle-rate",
        "Share of resource requests answered 429 TooManyRequests with Retry-After, from 0 to 1.");

    private readonly Option<double> _serverErrorRate = EmulatorHost.FaultRate("--server-error-rate",
        "Share of resource requests answered 500 InternalError, from 0 to 1.");

    public KubernetesCommand()
    {
        _capacity.Validators.Add(r =>
        {
            foreach (var c in r.GetValueOrDefault<string[]>() ?? [])
                if (c.Split('=', 2) is not [{ Length: > 0 }, var q] || !Quantity.TryParse(q, out _))
                    r.AddError($"--capacity takes NAME=QUANTITY (e.g. nvidia.com/gpu=1), not '{c}'.");
        });
        _podmanEnv.Validators.Add(r =>
        {
            foreach (var e in r.GetValueOrDefault<string[]>() ?? [])
                if (e.IndexOf('=', StringComparison.Ordinal) <= 0) r.AddError($"--podman-env takes NAME=VALUE, not '{e}'.");
        });
    }

    public string Name => "kubernetes";

    public string Description => "A Kubernetes API server (HTTPS, bearer token) that kubectl accepts: objects checked against Kubernetes' OpenAPI v3 schemas; each Job's pod runs for real with podman kube play.";

    public IReadOnlyList<Option> Options => [_kubeconfig, _token, _workDirectory, _podman, _podmanEnv, _capacity, _throttleRate, _serverErrorRate];

    public async Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken)
    {
        var settings = new KubernetesEmulatorOptions
        {
            Port = port,
            Token = options.GetValue(_token),
            KubeconfigPath = options.GetValue(_kubeconfig)?.FullName,
            WorkDirectory = options.GetValue(_workDirectory)?.FullName,
            PodmanCommand = options.GetValue(_podman)!,
            ThrottleRate = options.GetValue(_throttleRate),
            ServerErrorRate = options.GetValue(_serverErrorRate),
            OnRequest = r => Console.Error.WriteLine($"{r.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {r.Method} {r.Path}{r.Query} {r.Status}{(r.Reason is null ? "" : " " + r.Reason)}"),
        };
        foreach (var e in options.GetValue(_podmanEnv) ?? [])
        {
            var eq = e.IndexOf('=', StringComparison.Ordinal);
            settings.PodmanEnvironment[e[..eq]] = e[(eq + 1)..];
        }
        foreach (var c in options.GetValue(_capacity) ?? [])
        {
            var eq = c.IndexOf('=', StringComparison.Ordinal);
            settings.NodeCapacity[c[..eq]] = c[(eq + 1)..];
        }
        var emulator = await KubernetesEmulator.StartAsync(settings, cancellationToken);
        return new RunningEmulator(emulator,
        [
            $"Kubernetes emulator listening on {emulator.Endpoint}",
            $"export KUBECONFIG={Shell.Quote(emulator.KubeconfigPath)}",
            $"Node capacity: {string.Join(", ", settings.NodeCapacity.Select(p => $"{p.Key}={p.Value}"))}",
        ]);
    }
}
