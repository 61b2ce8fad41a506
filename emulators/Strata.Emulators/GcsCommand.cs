using System.CommandLine;
using System.Globalization;
using Strata.Emulators.Gcp;

namespace Strata.Emulators;

/// <summary><c>strata-emulators gcs</c>: the Cloud Storage JSON API in memory, for the gcs artifact store and gcloud.</summary>
internal sealed class GcsCommand : IEmulator
{
    private readonly Option<string[]> _buckets = new("--bucket")
    {
        Description = "A bucket to create at start; repeat for several. Default: one bucket named 'lake'.",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _project = new("--project")
    {
        Description = "The project buckets belong to.",
        DefaultValueFactory = _ => "strata-emulator",
    };

    private readonly Option<double> _throttleRate = EmulatorHost.FaultRate("--throttle-rate",
        "Share of requests answered with 429 rateLimitExceeded, from 0 to 1.");

    private readonly Option<double> _serverErrorRate = EmulatorHost.FaultRate("--server-error-rate",
        "Share of requests answered with 503 backendError, from 0 to 1.");

    public string Name => "gcs";

    public string Description => "The Google Cloud Storage JSON API in memory: buckets, uploads (media, multipart, resumable), ranged reads, listing and "
        + "preconditions, enough for the gcs artifact store and gcloud storage.";

    public IReadOnlyList<Option> Options => [_buckets, _project, _throttleRate, _serverErrorRate];

    public async Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken)
    {
        var project = options.GetValue(_project)!;
        var buckets = options.GetValue(_buckets) is { Length: > 0 } named ? named : ["lake"];
        var emulator = await GcsEmulator.StartAsync(new GcsEmulatorOptions
        {
            Port = port,
            Project = project,
            ThrottleRate = options.GetValue(_throttleRate),
            ServerErrorRate = options.GetValue(_serverErrorRate),
            OnRequest = r => Console.Error.WriteLine(
                $"{r.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {r.Operation} {r.Method} {r.Path} {r.Status}{(r.Reason is null ? "" : " " + r.Reason)}"),
        }, cancellationToken);
        foreach (var bucket in buckets) emulator.CreateBucket(bucket);
        var endpoint = emulator.Endpoint.ToString();
        return new RunningEmulator(emulator,
        [
            $"GCS emulator listening on {endpoint} (JSON API under storage/v1/, uploads under upload/storage/v1/); buckets: {string.Join(", ", buckets)}",
            $"strata artifact-store register lake --flavor=gcs --path=gs://{buckets[0]}/strata --endpoint_url={endpoint}",
            "gcloud, with a private config directory:",
            "export CLOUDSDK_CONFIG=$(mktemp -d)",
            "gcloud config set auth/disable_credentials true",
            $"gcloud config set api_endpoint_overrides/storage {endpoint}",
            $"gcloud config set core/project {Shell.Quote(project)}",
            $"gcloud storage ls gs://{buckets[0]}/",
        ]);
    }
}
