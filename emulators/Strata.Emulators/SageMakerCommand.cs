using System.CommandLine;
using System.Globalization;
using Strata.Emulators.Aws;
using Strata.Emulators.Jobs;

namespace Strata.Emulators;

/// <summary><c>strata-emulators sagemaker</c>: SageMaker training jobs and CloudWatch Logs on one endpoint.</summary>
internal sealed class SageMakerCommand : IEmulator
{
    // AWS's documented example keys: obviously not real, and shaped like real ones for clients that check.
    private const string DefaultAccessKeyId = "AKIAIOSFODNN7EXAMPLE";
    private const string DefaultSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    private readonly Option<string> _accessKeyId = new("--access-key-id")
    {
        Description = "Access key id of the one caller whose signatures are accepted.",
        DefaultValueFactory = _ => DefaultAccessKeyId,
    };

    private readonly Option<string> _secretAccessKey = new("--secret-access-key")
    {
        Description = "Its secret access key.",
        DefaultValueFactory = _ => DefaultSecretAccessKey,
    };

    private readonly Option<string> _region = new("--region")
    {
        Description = "The region requests must be signed for; it appears in ARNs.",
        DefaultValueFactory = _ => "us-east-1",
    };

    private readonly Option<string> _accountId = new("--account-id")
    {
        Description = "The 12-digit account id in ARNs.",
        DefaultValueFactory = _ => "123456789012",
    };

    private readonly Option<string[]> _images = new("--image")
    {
        Description = "A training image the emulator can run, as NAME=ENTRYPOINT: a job whose TrainingImage is NAME runs ENTRYPOINT "
            + "(words, quoted as in a shell, or a JSON array) as a local process, followed by the job's ContainerArguments "
            + "('train' when it gives none). Repeat for several. A job naming any other image fails as an image that cannot be pulled.",
        HelpName = "NAME=ENTRYPOINT",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<DirectoryInfo?> _workDirectory = new("--work-dir")
    {
        Description = "Where each job gets a directory standing in for the container's /opt/ml (kept); default: a temporary directory removed at exit.",
    };

    private readonly Option<DirectoryInfo> _botocoreData = new("--botocore-data")
    {
        Description = "botocore's data directory, holding the SageMaker and CloudWatch Logs models requests are checked against.",
        DefaultValueFactory = _ => new DirectoryInfo("/usr/lib/python3/dist-packages/botocore/data"),
    };

    private readonly Option<bool> _allowUnknownMembers = new("--allow-unknown-members")
    {
        Description = "Ignore request members the model does not define, as AWS does (by default they are refused, to catch misspelt members).",
    };

    private readonly Option<double> _throttleRate = EmulatorHost.FaultRate("--throttle-rate",
        "Share of requests answered with ThrottlingException, from 0 to 1.");

    private readonly Option<double> _serverErrorRate = EmulatorHost.FaultRate("--server-error-rate",
        "Share of requests answered with InternalFailure (500) or ServiceUnavailable (503), from 0 to 1.");

    public SageMakerCommand()
    {
        _images.Validators.Add(r =>
        {
            foreach (var mapping in r.GetValueOrDefault<string[]>() ?? [])
                if (Shell.ImageMapping(mapping) is { Error: { } error }) r.AddError(error);
        });
    }

    public string Name => "sagemaker";

    public string Description => "SageMaker training jobs and CloudWatch Logs on one endpoint: requests checked against botocore's models and SigV4 signatures verified; each job's image runs as a local process.";

    public IReadOnlyList<Option> Options =>
        [_accessKeyId, _secretAccessKey, _region, _accountId, _images, _workDirectory, _botocoreData, _allowUnknownMembers, _throttleRate, _serverErrorRate];

    public async Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken)
    {
        var botocoreData = options.GetValue(_botocoreData)!.FullName;
        if (!Directory.Exists(Path.Combine(botocoreData, "sagemaker")))
            throw new EmulatorStartException($"no SageMaker model under {botocoreData}: install python3-botocore (Debian) or give botocore's data directory with --botocore-data.");
        var accessKeyId = options.GetValue(_accessKeyId)!;
        var secretAccessKey = options.GetValue(_secretAccessKey)!;
        var region = options.GetValue(_region)!;
        var settings = new SageMakerEmulatorOptions
        {
            Port = port,
            Region = region,
            AccountId = options.GetValue(_accountId)!,
            Credentials = { [accessKeyId] = secretAccessKey },
            BotocoreDataDirectory = botocoreData,
            WorkDirectory = options.GetValue(_workDirectory)?.FullName,
            RejectUnknownMembers = !options.GetValue(_allowUnknownMembers),
            ThrottleRate = options.GetValue(_throttleRate),
            ServerErrorRate = options.GetValue(_serverErrorRate),
            OnRequest = r => Console.Error.WriteLine($"{r.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {r.Service} {r.Operation} {r.Status}{(r.ErrorType is null ? "" : " " + r.ErrorType)}"),
        };
        var images = (options.GetValue(_images) ?? []).Select(m => Shell.ImageMapping(m)).ToArray();
        foreach (var (name, entrypoint, _) in images)
            settings.Images[name!] = new EmulatedImage { Entrypoint = entrypoint };

        var emulator = await SageMakerEmulator.StartAsync(settings, cancellationToken);
        var endpoint = emulator.Endpoint.ToString();
        var role = $"arn:aws:iam::{settings.AccountId}:role/strata-emulator";
        var image = images.Length > 0 ? images[0].Name! : "IMAGE";
        List<string> lines =
        [
            $"SageMaker emulator listening on {endpoint}",
            $"export AWS_ENDPOINT_URL_SAGEMAKER={endpoint}",
            $"export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS={endpoint}",
            $"export AWS_ACCESS_KEY_ID={Shell.Quote(accessKeyId)} AWS_SECRET_ACCESS_KEY={Shell.Quote(secretAccessKey)} AWS_REGION={Shell.Quote(region)} AWS_DEFAULT_REGION={Shell.Quote(region)}",
            $"strata step-operator register sm --flavor=sagemaker --endpoint_url={endpoint} --region={Shell.Quote(region)} --role={role} --image={Shell.Quote(image)}",
        ];
        foreach (var (name, entrypoint, _) in images)
            lines.Add($"Image {name} runs: {string.Join(' ', entrypoint!.Select(Shell.Quote))}");
        return new RunningEmulator(emulator, lines);
    }
}
