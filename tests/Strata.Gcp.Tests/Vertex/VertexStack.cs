using System.Text.Json.Nodes;
using Strata.Emulators.Gcp;
using Strata.Emulators.Jobs;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>
/// Google Cloud as the Vertex tests have it: one emulator serving Cloud Storage, Vertex AI, Cloud Logging and OAuth tokens
/// (bearer tokens required), a service-account key it issued, a bucket, and a job image that runs the real <c>strata</c>
/// command (built in its own project) as the step entrypoint, in an environment of its own, as a container would.
/// </summary>
public sealed class VertexStack : IAsyncDisposable
{
    public const string Image = "europe-west1-docker.pkg.dev/strata-emulator/strata/app:1";
    public const string Project = "strata-emulator";
    public const string Region = "europe-west1";

    /// <summary>A machine type the emulator has no capacity for: jobs asking for it stay JOB_STATE_PENDING.</summary>
    public const string UnavailableMachine = "a2-ultragpu-8g";

    private readonly TempDirectory _temp;

    private VertexStack(TempDirectory temp, VertexEmulator emulator, string keyFile, string bucket)
    {
        _temp = temp;
        Emulator = emulator;
        KeyFile = keyFile;
        Bucket = bucket;
    }

    public VertexEmulator Emulator { get; }

    /// <summary>A service-account key file the emulator's token endpoint accepts.</summary>
    public string KeyFile { get; }

    public string Bucket { get; }

    public string Directory => _temp.Path;

    public string StorePath => $"gs://{Bucket}/strata";

    public static async Task<VertexStack> StartAsync(Action<VertexEmulatorOptions>? configure = null)
    {
        var temp = new TempDirectory("strata-vertex-stack");
        System.IO.Directory.CreateDirectory(temp.Combine("job-home"));
        var options = new VertexEmulatorOptions
        {
            Project = Project,
            InheritEnvironment = false,
            PhaseDelay = TimeSpan.FromMilliseconds(20),
            StopGracePeriod = TimeSpan.FromSeconds(3),
            WorkDirectory = temp.Combine("jobs"),
        };
        options.Images[Image] = StrataImage(temp.Combine("job-home"));
        options.UnavailableMachineTypes.Add(UnavailableMachine);
        configure?.Invoke(options);
        var emulator = await VertexEmulator.StartAsync(options);
        var keyFile = temp.Combine("key.json");
        await File.WriteAllTextAsync(keyFile, emulator.CreateServiceAccountKey());
        var bucket = $"lake-{Guid.NewGuid():N}"[..20];
        emulator.Storage.CreateBucket(bucket);
        return new VertexStack(temp, emulator, keyFile, bucket);
    }

    /// <summary>The image a job with <see cref="Image"/> runs: <c>dotnet strata.dll</c>, with only the environment a container would have.</summary>
    public static EmulatedImage StrataImage(string home)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = home,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) environment["DOTNET_ROOT"] = root;
        return new EmulatedImage { Entrypoint = [RepoPaths.Dotnet(), RepoPaths.StrataDll], Environment = environment };
    }

    /// <summary>The operator's config, as <c>strata step-operator register</c> takes it (the seed's names where it has them).</summary>
    public Dictionary<string, string> OperatorConfig() => new()
    {
        ["project"] = Project,
        ["region"] = Region,
        ["service_account_path"] = KeyFile,
        ["endpoint_url"] = Emulator.Endpoint.ToString(),
        ["image"] = Image,
    };

    public Dictionary<string, string> StoreConfig() => new()
    {
        ["path"] = StorePath,
        ["endpoint_url"] = Emulator.Endpoint.ToString(),
    };

    /// <summary>The CreateCustomJob bodies the emulator accepted, as sent.</summary>
    public IReadOnlyList<JsonObject> CreatedJobs() => Emulator.RequestBodies
        .Where(r => r.Operation == "aiplatform.CreateCustomJob")
        .Select(r => JsonNode.Parse(r.Body)!.AsObject())
        .ToArray();

    /// <summary>Runs the <c>strata</c> command of this build in the stack's directory with its own home, as a user would.</summary>
    public (int ExitCode, string Out, string Error) Strata(string home, params string[] args) => StrataProcess.Run(_temp.Path, home, null, args);

    public async ValueTask DisposeAsync()
    {
        await Emulator.DisposeAsync();
        _temp.Dispose();
    }
}
