using System.CommandLine;
using System.Globalization;
using Strata.Emulators.Gcp;
using Strata.Emulators.Jobs;

namespace Strata.Emulators;

/// <summary>
/// <c>strata-emulators vertex</c>: Vertex AI custom jobs, Cloud Logging, the OAuth token endpoint and Cloud Storage on one
/// endpoint, for the vertex step operator with a gcs artifact store, and for gcloud.
/// </summary>
internal sealed class VertexCommand : IEmulator
{
    private readonly Option<string[]> _buckets = new("--bucket")
    {
        Description = "A bucket to create at start; repeat for several. Default: one bucket named 'lake'.",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _project = new("--project")
    {
        Description = "The project printed in the instructions (jobs may be created in any project).",
        DefaultValueFactory = _ => "strata-emulator",
    };

    private readonly Option<string> _region = new("--region")
    {
        Description = "The region printed in the instructions (jobs may be created in any region).",
        DefaultValueFactory = _ => "europe-west1",
    };

    private readonly Option<string[]> _images = new("--image")
    {
        Description = "An image jobs can run, as NAME=ENTRYPOINT: a job whose imageUri is NAME runs ENTRYPOINT (words, quoted as in a shell, or a JSON "
            + "array) as a local process, followed by the job's args. Repeat for several. Other images run with --container-runner, or fail as "
            + "images that cannot be pulled.",
        HelpName = "NAME=ENTRYPOINT",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _containerRunner = new("--container-runner")
    {
        Description = "The command that runs other images, e.g. 'podman run --rm --network host --init'.",
    };

    private readonly Option<FileInfo?> _keyFile = new("--key-file")
    {
        Description = "Where to write a service-account key file the token endpoint accepts; default: key.json in the work directory.",
    };

    private readonly Option<DirectoryInfo?> _workDirectory = new("--work-dir")
    {
        Description = "Where the key file and job directories go; default: a temporary directory removed at exit.",
    };

    private readonly Option<bool> _allowUnauthenticated = new("--allow-unauthenticated")
    {
        Description = "Answer Vertex AI and Logging calls without a bearer token (gcloud with auth/disable_credentials); by default they need a "
            + "token from the token endpoint, for a JWT signed with the key file's key.",
    };

    private readonly Option<string[]> _unavailable = new("--unavailable-machine-type")
    {
        Description = "A machine type without capacity: jobs asking for it stay JOB_STATE_PENDING. Repeatable.",
        HelpName = "TYPE",
    };

    private readonly Option<double> _throttleRate = EmulatorHost.FaultRate("--throttle-rate",
        "Share of requests answered with 429 RESOURCE_EXHAUSTED, from 0 to 1.");

    private readonly Option<double> _serverErrorRate = EmulatorHost.FaultRate("--server-error-rate",
        "Share of requests answered with 503 UNAVAILABLE, from 0 to 1.");

    public VertexCommand()
    {
        _images.Validators.Add(r =>
        {
            foreach (var mapping in r.GetValueOrDefault<string[]>() ?? [])
                if (Shell.ImageMapping(mapping) is { Error: { } error }) r.AddError(error);
        });
        _containerRunner.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } runner && Shell.Words(runner) is not { Length: > 0 })
                r.AddError($"--container-runner '{runner}' is empty or badly quoted.");
        });
    }

    public string Name => "vertex";

    public string Description => "Vertex AI custom jobs (checked against aiplatform's protos.json, containers run for real), Cloud Logging, an OAuth "
        + "token endpoint for service-account keys and Cloud Storage, all on one endpoint: for the vertex step operator and gcloud.";

    public IReadOnlyList<Option> Options =>
        [_buckets, _project, _region, _images, _containerRunner, _keyFile, _workDirectory, _allowUnauthenticated, _unavailable, _throttleRate,
            _serverErrorRate];

    public async Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken)
    {
        var project = options.GetValue(_project)!;
        var region = options.GetValue(_region)!;
        var buckets = options.GetValue(_buckets) is { Length: > 0 } named ? named : ["lake"];
        var settings = new VertexEmulatorOptions
        {
            Port = port,
            Project = project,
            RequireAuthentication = !options.GetValue(_allowUnauthenticated),
            WorkDirectory = options.GetValue(_workDirectory)?.FullName,
            ContainerRunner = options.GetValue(_containerRunner) is { } runner ? Shell.Words(runner) : null,
            ThrottleRate = options.GetValue(_throttleRate),
            ServerErrorRate = options.GetValue(_serverErrorRate),
            OnRequest = r => Console.Error.WriteLine(
                $"{r.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {r.Operation} {r.Method} {r.Path} {r.Status}{(r.Reason is null ? "" : " " + r.Reason)}"),
        };
        foreach (var type in options.GetValue(_unavailable) ?? []) settings.UnavailableMachineTypes.Add(type);
        var images = (options.GetValue(_images) ?? []).Select(Shell.ImageMapping).ToArray();
        foreach (var (name, entrypoint, _) in images)
            settings.Images[name!] = new EmulatedImage { Entrypoint = entrypoint };

        var emulator = await VertexEmulator.StartAsync(settings, cancellationToken);
        foreach (var bucket in buckets) emulator.Storage.CreateBucket(bucket);
        var keyFile = options.GetValue(_keyFile)?.FullName
            ?? Path.Combine(settings.WorkDirectory ?? Directory.CreateTempSubdirectory("strata-vertex-key-").FullName, "key.json");
        await File.WriteAllTextAsync(keyFile, emulator.CreateServiceAccountKey(), cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var endpoint = emulator.Endpoint.ToString();
        var image = images.Length > 0 ? images[0].Name! : "IMAGE";
        List<string> lines =
        [
            $"Google Cloud emulator listening on {endpoint} (Vertex AI under v1/projects/.../customJobs, Cloud Logging at v2/entries:list, "
                + $"OAuth tokens at token, Cloud Storage under storage/v1); buckets: {string.Join(", ", buckets)}",
            $"Service-account key (token_uri points here): {keyFile}",
            $"strata artifact-store register lake --flavor=gcs --path=gs://{buckets[0]}/strata --endpoint_url={endpoint}",
            $"strata step-operator register vertex --flavor=vertex --project={Shell.Quote(project)} --region={Shell.Quote(region)} "
                + $"--service_account_path={Shell.Quote(keyFile)} --endpoint_url={endpoint} --image={Shell.Quote(image)}",
            "gcloud, with a private config directory" + (settings.RequireAuthentication ? " (start the emulator with --allow-unauthenticated for it):" : ":"),
            "export CLOUDSDK_CONFIG=$(mktemp -d)",
            "gcloud config set auth/disable_credentials true",
            $"gcloud config set api_endpoint_overrides/aiplatform {endpoint}",
            $"gcloud config set api_endpoint_overrides/logging {endpoint}",
            $"gcloud config set api_endpoint_overrides/storage {endpoint}",
            $"gcloud config set core/project {Shell.Quote(project)}",
            $"gcloud ai custom-jobs list --region={Shell.Quote(region)}",
        ];
        foreach (var (name, entrypoint, _) in images)
            lines.Add($"Image {name} runs: {string.Join(' ', entrypoint!.Select(Shell.Quote))}");
        return new RunningEmulator(emulator, lines);
    }
}
