using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Aws.SageMaker;

/// <summary>A training job as the operator will create it, and the step's secrets that were kept out of it.</summary>
internal sealed record TrainingJobPlan(CreateTrainingJobRequest Request, IReadOnlyList<string> WithheldSecrets);

/// <summary>
/// Turns a step launch into a CreateTrainingJob request: the name from the step-run id, the step entrypoint as the
/// container's arguments, resources, stopping condition, environment (within SageMaker's limits, never secrets), input
/// channels, output path, network, experiment and tags. Every problem is reported at once, before anything is sent.
/// </summary>
internal static partial class TrainingJobSpec
{
    /// <summary>SageMaker's limit on each environment value (and key).</summary>
    public const int MaxEnvironmentLength = 512;

    /// <summary>SageMaker's limit on the number of environment variables of a training job.</summary>
    public const int MaxEnvironmentEntries = 48;

    /// <summary>SageMaker's limit on each ContainerEntrypoint and ContainerArguments string.</summary>
    public const int MaxContainerString = 256;

    public const int MaxJobNameLength = 63;

    /// <summary>SageMaker's default MaxRuntimeInSeconds: one day.</summary>
    public const int DefaultMaxRuntimeSeconds = 86_400;

    public const string DefaultChannel = "training";

    public static string JobName(StepLaunch launch) => StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName, MaxJobNameLength);

    /// <exception cref="StrataConfigException">Lists everything SageMaker would refuse or that cannot be passed to it.</exception>
    public static TrainingJobPlan Build(StepLaunch launch, SageMakerStepOperatorConfig config, string? defaultOutputPath)
    {
        var settings = (SageMakerSettings)launch.Settings;
        var problems = new List<string>();
        var name = JobName(launch);

        if (string.IsNullOrWhiteSpace(launch.Image))
            problems.Add("no training image: set image to an image URI that holds the app (--image=ACCOUNT.dkr.ecr.REGION.amazonaws.com/app:TAG, or per step " +
                "in its settings), or add a container registry and an image builder to the stack to have it built from base_image");
        if (!RoleArn().IsMatch(config.Role ?? ""))
            problems.Add($"role '{config.Role}' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");

        var (entrypoint, arguments) = Container(launch, settings, problems);
        var environment = Environment(launch, settings, problems);
        var stopping = Stopping(launch, settings, problems, out var spot);

        if (settings.InstanceCount < 1) problems.Add($"instance_count must be 1 or more; it is {settings.InstanceCount}");
        if (settings.VolumeSizeGb < 1) problems.Add($"volume_size_gb must be 1 or more; it is {settings.VolumeSizeGb}");
        if (string.IsNullOrWhiteSpace(settings.InstanceType)) problems.Add("instance_type is empty; choose one such as ml.m5.large");

        var output = settings.OutputDataS3Uri ?? defaultOutputPath;
        if (output is null)
            problems.Add("no output path for SageMaker: set output_data_s3_uri (s3://bucket/prefix) or use an s3 artifact store");
        else if (!S3Uri().IsMatch(output))
            problems.Add($"output_data_s3_uri '{output}' is not an s3:// URI");

        var channels = Channels(settings.InputDataS3Uri, problems);
        var vpc = Vpc(config, problems);

        ExperimentConfig? experiment = null;
        if (!string.IsNullOrWhiteSpace(settings.ExperimentName))
        {
            if (!EntityName().IsMatch(settings.ExperimentName))
                problems.Add($"experiment_name '{settings.ExperimentName}' is not a SageMaker experiment name (up to 120 letters, digits and '-', starting " +
                    "with a letter or digit)");
            experiment = new ExperimentConfig { ExperimentName = settings.ExperimentName, TrialComponentDisplayName = EntityNameFrom(launch.StepName) };
        }
        var tags = Tags(launch, settings, problems);

        if (problems.Count > 0)
            throw new StrataConfigException($"Cannot run step '{launch.StepName}' as SageMaker training job {name}: {string.Join("; ", problems)}.");

        var request = new CreateTrainingJobRequest
        {
            TrainingJobName = name,
            AlgorithmSpecification = new AlgorithmSpecification
            {
                TrainingImage = launch.Image!.Trim(),
                TrainingInputMode = "File",
                ContainerEntrypoint = entrypoint,
                ContainerArguments = arguments,
            },
            RoleArn = config.Role!,
            OutputDataConfig = new OutputDataConfig { S3OutputPath = output! },
            ResourceConfig = new ResourceConfig { InstanceType = settings.InstanceType.Trim(), InstanceCount = settings.InstanceCount,
                VolumeSizeInGB = settings.VolumeSizeGb },
            StoppingCondition = stopping,
            EnableManagedSpotTraining = spot ? true : null,
            Environment = environment,
            InputDataConfig = channels,
            VpcConfig = vpc,
            ExperimentConfig = experiment,
            Tags = tags,
        };
        return new TrainingJobPlan(request, launch.Secrets.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>
    /// The container's entrypoint and arguments. The launch's command ends with <c>strata-step --manifest URI</c> after a
    /// prefix that starts the app on the orchestrator's machine; in the image the app is started by the image's own
    /// ENTRYPOINT, or by the <c>entrypoint</c> setting when given. A command without the step verb is passed whole.
    /// </summary>
    private static (IReadOnlyList<string>? Entrypoint, IReadOnlyList<string>? Arguments) Container(StepLaunch launch, SageMakerSettings settings,
        List<string> problems)
    {
        var (entrypoint, arguments) = launch.ImageCommand();
        if (entrypoint is { Count: > 10 })
            problems.Add($"the entrypoint has {entrypoint.Count} parts; SageMaker takes at most 10");
        foreach (var part in (entrypoint ?? []).Concat(arguments).Where(p => p.Length > MaxContainerString))
            problems.Add($"'{Shorten(part)}' of the step's command is {part.Length} characters long; SageMaker takes at most {MaxContainerString} per " +
                "entrypoint or argument string (shorten the artifact store's path, or the pipeline's or run's name)");
        if (arguments.Count > 100)
            problems.Add($"the step's command has {arguments.Count} arguments; SageMaker takes at most 100");
        return (entrypoint is { Count: > 0 } ? entrypoint : null, arguments.Count == 0 ? null : arguments);
    }

    /// <summary>
    /// The job's environment: how to reach the artifact store and the names of the step's secret variables (from the
    /// launch), then the user's variables. Never secret values: SageMaker shows the environment to anyone who can
    /// describe the job. The store's profile is left out: in the job, credentials come from the execution role.
    /// </summary>
    private static Dictionary<string, string> Environment(StepLaunch launch, SageMakerSettings settings, List<string> problems)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in launch.Environment) environment[k] = v;
        if (environment.TryGetValue(ArtifactStoreLocatorVariable, out var locator))
            environment[ArtifactStoreLocatorVariable] = WithoutLocalCredentials(locator);
        foreach (var (k, v) in settings.Environment ?? []) environment[k] = v;

        if (environment.TryGetValue(ArtifactStoreLocatorVariable, out var store) && store.Length > MaxEnvironmentLength)
            problems.Add($"the artifact store's settings for the job ({ArtifactStoreLocatorVariable}) take {store.Length} characters, more than the " +
                $"{MaxEnvironmentLength} SageMaker allows in an environment value; shorten the s3 store's path or endpoint_url, or leave out settings that " +
                "have good defaults");
        foreach (var (k, v) in environment)
        {
            if (k == ArtifactStoreLocatorVariable) continue;
            if (!EnvironmentKey().IsMatch(k) || k.Length > MaxEnvironmentLength)
                problems.Add($"environment variable name '{Shorten(k)}' is not allowed by SageMaker (letters, digits and '_', not starting with a digit)");
            if (v.Length > MaxEnvironmentLength)
                problems.Add($"environment variable {k} is {v.Length} characters long; SageMaker allows at most {MaxEnvironmentLength} per value (pass large " +
                    "values as step parameters or input artifacts)");
        }
        if (environment.Count > MaxEnvironmentEntries)
            problems.Add($"the job would have {environment.Count} environment variables; SageMaker allows at most {MaxEnvironmentEntries}");
        return environment;
    }

    private const string ArtifactStoreLocatorVariable = ArtifactStoreLocator.EnvironmentVariable;

    /// <summary>Drops the store's <c>profile</c>: it names a profile of this machine's AWS files, which a job does not have.</summary>
    internal static string WithoutLocalCredentials(string locatorJson)
    {
        try
        {
            if (JsonNode.Parse(locatorJson) is JsonObject root && root["config"] is JsonObject storeConfig && storeConfig.Remove("profile"))
                return root.ToJsonString();
        }
        catch (System.Text.Json.JsonException)
        {
            // not ours to judge: the entrypoint reports a malformed locator
        }
        return locatorJson;
    }

    private static StoppingCondition Stopping(StepLaunch launch, SageMakerSettings settings, List<string> problems, out bool spot)
    {
        spot = settings.UseSpotInstances;
        int maxRuntime;
        if (settings.MaxRun is { } maxRun)
        {
            if (maxRun < 1) problems.Add($"max_run must be 1 second or more; it is {maxRun}");
            maxRuntime = maxRun;
        }
        else if (launch.Timeout is { } timeout)
            maxRuntime = (int)Math.Clamp(Math.Ceiling(timeout.TotalSeconds), 1, int.MaxValue);
        else
            maxRuntime = DefaultMaxRuntimeSeconds;

        if (!spot) return new StoppingCondition { MaxRuntimeInSeconds = maxRuntime };
        var maxWait = settings.MaxWait ?? (int)Math.Min(int.MaxValue, 2L * maxRuntime);
        if (maxWait < maxRuntime)
            problems.Add($"max_wait ({maxWait} s) must be at least max_run ({maxRuntime} s): it bounds the spot job's whole time, waiting included");
        return new StoppingCondition { MaxRuntimeInSeconds = maxRuntime, MaxWaitTimeInSeconds = maxWait };
    }

    /// <summary><c>s3://...</c> (channel <c>training</c>) or <c>name=s3://...,name2=s3://...</c>.</summary>
    internal static IReadOnlyList<Channel>? Channels(string? text, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var entries = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var channels = new List<Channel>();
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            var scheme = entry.IndexOf("://", StringComparison.Ordinal);
            var named = eq > 0 && (scheme < 0 || eq < scheme);
            var channel = named ? entry[..eq].Trim() : DefaultChannel;
            var uri = named ? entry[(eq + 1)..].Trim() : entry;
            if (!named && entries.Length > 1)
                problems.Add($"input_data_s3_uri '{entry}' needs a channel name when several are given (CHANNEL=s3://...)");
            if (!ChannelName().IsMatch(channel) || channel.Length > 64)
                problems.Add($"input channel name '{channel}' is not allowed by SageMaker (up to 64 letters, digits, '.', '-' and '_')");
            if (!S3Uri().IsMatch(uri))
                problems.Add($"input_data_s3_uri '{uri}' is not an s3:// URI");
            if (channels.Any(c => c.ChannelName == channel))
                problems.Add($"input channel '{channel}' is given twice");
            channels.Add(new Channel
            {
                ChannelName = channel,
                DataSource = new DataSource(new S3DataSource { S3DataType = "S3Prefix", S3Uri = uri, S3DataDistributionType = "FullyReplicated" }),
            });
        }
        if (channels.Count > 20) problems.Add($"{channels.Count} input channels; SageMaker takes at most 20");
        return channels;
    }

    private static VpcConfig? Vpc(SageMakerStepOperatorConfig config, List<string> problems)
    {
        var subnets = config.Subnets?.Where(s => s.Length > 0).ToArray() ?? [];
        var groups = config.SecurityGroupIds?.Where(s => s.Length > 0).ToArray() ?? [];
        if (subnets.Length == 0 && groups.Length == 0) return null;
        if (subnets.Length == 0 || groups.Length == 0)
        {
            problems.Add("subnets and security_group_ids go together: give both to run the jobs in your VPC, or neither");
            return null;
        }
        if (subnets.Length > 16) problems.Add($"{subnets.Length} subnets; SageMaker takes at most 16");
        if (groups.Length > 5) problems.Add($"{groups.Length} security groups; SageMaker takes at most 5");
        return new VpcConfig(groups, subnets);
    }

    private static IReadOnlyList<Tag> Tags(StepLaunch launch, SageMakerSettings settings, List<string> problems)
    {
        var tags = new List<Tag>();
        foreach (var (k, v) in settings.Tags ?? [])
        {
            if (k.Length is 0 or > 128 || !TagText().IsMatch(k) || k.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                problems.Add($"tag key '{Shorten(k)}' is not allowed by SageMaker (1-128 letters, digits, spaces and _.:/=+-@, not starting with aws:)");
            if (v.Length > 256 || !TagText().IsMatch(v))
                problems.Add($"the value of tag '{Shorten(k)}' is not allowed by SageMaker (up to 256 letters, digits, spaces and _.:/=+-@)");
            tags.Add(new Tag(k, v));
        }
        foreach (var (k, v) in new[] { ("strata:pipeline", launch.Pipeline), ("strata:run", launch.RunName), ("strata:step", launch.StepName),
            ("strata:step-run", launch.StepRunId) })
            if (tags.All(t => t.Key != k)) tags.Add(new Tag(k, TagValue(v)));
        if (tags.Count > 50) problems.Add($"{tags.Count} tags; SageMaker takes at most 50 (Strata adds 4)");
        return tags;
    }

    private static string TagValue(string value)
    {
        var clean = NotTagText().Replace(value, "_");
        return clean.Length > 256 ? clean[..256] : clean;
    }

    /// <summary>A SageMaker entity name (letters, digits, '-'; up to 120) from any text.</summary>
    private static string EntityNameFrom(string text)
    {
        var clean = string.Join('-', NotAlphanumeric().Split(text).Where(p => p.Length > 0));
        if (clean.Length == 0) clean = "step";
        return clean.Length > 120 ? clean[..120].TrimEnd('-') : clean;
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : string.Concat(s.AsSpan(0, 57), "...");

    [GeneratedRegex(@"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")]
    private static partial Regex RoleArn();

    [GeneratedRegex(@"^(s3|https)://[^/]+(/.*)?$")]
    private static partial Regex S3Uri();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex EnvironmentKey();

    [GeneratedRegex(@"^[A-Za-z0-9.\-_]+$")]
    private static partial Regex ChannelName();

    [GeneratedRegex(@"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")]
    private static partial Regex EntityName();

    [GeneratedRegex(@"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$")]
    private static partial Regex TagText();

    [GeneratedRegex(@"[^\p{L}\p{Z}\p{N}_.:/=+\-@]")]
    private static partial Regex NotTagText();

    [GeneratedRegex(@"[^a-zA-Z0-9]+")]
    private static partial Regex NotAlphanumeric();
}
