using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Azure.MachineLearning;

/// <summary>The environment a job runs in: one to register from the step's image, or a registered one by name.</summary>
internal sealed record JobEnvironment(string Name, string? Version, string? Image);

/// <summary>A command job as the operator will create it, the environment it needs, and the step's secrets that were kept out of it.</summary>
internal sealed record CommandJobPlan(string Name, JsonObject Job, JobEnvironment Environment, string Compute, IReadOnlyList<string> WithheldSecrets);

/// <summary>
/// Turns a step launch into an Azure ML command job (ARM <c>Microsoft.MachineLearningServices/workspaces/jobs</c>): the name from
/// the step-run id (so a PUT sent twice creates one job), <c>strata-step --manifest URI</c> as the command in the step's
/// environment, the compute target or serverless resources, <c>limits.timeout</c> from the step's timeout, tags, and the
/// environment variables without secret values. Every problem is reported at once, before anything is sent.
/// </summary>
internal static partial class CommandJobSpec
{
    public const int MaxName = 255;

    public static readonly IReadOnlySet<string> Modes = new HashSet<string>(StringComparer.Ordinal) { "serverless", "compute-cluster", "compute-instance" };

    public static string JobName(StepLaunch launch) => StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName, MaxName);

    /// <exception cref="StrataConfigException">Lists everything Azure ML would refuse or that cannot be passed to it.</exception>
    public static CommandJobPlan Build(StepLaunch launch, AzureMLStepOperatorConfig config)
    {
        var settings = (AzureMLSettings)launch.Settings;
        var problems = new List<string>();
        var name = JobName(launch);

        var environment = Environment(launch, settings, problems);
        var command = Command(launch, settings);
        var properties = new JsonObject
        {
            ["jobType"] = "Command",
            ["displayName"] = $"{launch.Pipeline} / {launch.StepName} ({launch.RunName})",
            ["experimentName"] = Experiment(settings.ExperimentName ?? launch.Pipeline),
            ["description"] = $"Step '{launch.StepName}' of pipeline '{launch.Pipeline}', run {launch.RunName} (attempt {launch.Attempt}), run by Strata.",
            ["tags"] = Tags(launch, settings, problems),
            ["command"] = command,
            // The job reaches the artifact store as the compute's managed identity, never with a credential of ours.
            ["identity"] = new JsonObject { ["identityType"] = "Managed" },
        };
        var variables = Variables(launch, settings, problems);
        if (variables.Count > 0) properties["environmentVariables"] = variables;

        var compute = Compute(settings, properties, problems);
        if (launch.Timeout is { } timeout)
            properties["limits"] = new JsonObject
            {
                ["jobLimitsType"] = "Command",
                ["timeout"] = $"PT{Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}S",
            };
        if (problems.Count > 0)
            throw new StrataConfigException($"Cannot run step '{launch.StepName}' as Azure ML job {name}: {string.Join("; ", problems)}.");
        return new CommandJobPlan(name, new JsonObject { ["properties"] = properties }, environment!, compute,
            launch.Secrets.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>The body of the environment version that runs <paramref name="image"/>.</summary>
    public static JsonObject EnvironmentVersion(string image) => new()
    {
        ["properties"] = new JsonObject
        {
            ["image"] = image,
            ["description"] = "A job image of a Strata pipeline, registered by the azureml step operator.",
            ["osType"] = "Linux",
        },
    };

    /// <summary>
    /// The step's image registered as a version of <c>strata-APP</c> (its version a hash of the image reference, so a second
    /// registration of the same image is the same version), else the named environment.
    /// </summary>
    private static JobEnvironment? Environment(StepLaunch launch, AzureMLSettings settings, List<string> problems)
    {
        if (!string.IsNullOrWhiteSpace(launch.Image))
        {
            var image = launch.Image.Trim();
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(image)))[..16];
            return new JobEnvironment(ResourceName($"strata-{AppName(launch) ?? launch.Pipeline}"), hash, image);
        }
        if (!string.IsNullOrWhiteSpace(settings.EnvironmentName))
        {
            var parts = settings.EnvironmentName.Trim().Split(':', 2);
            var version = parts.Length > 1 ? parts[1] : null;
            if (!ResourcePattern().IsMatch(parts[0]) || (version is not null && !VersionPattern().IsMatch(version)))
                problems.Add($"environment_name '{settings.EnvironmentName}' is not an Azure ML environment as NAME or NAME:VERSION");
            return new JobEnvironment(parts[0], version, null);
        }
        problems.Add("no environment: set environment_name to a registered Azure ML environment (NAME or NAME:VERSION), or image to an image that " +
            "holds the app, or add a container registry and an image builder to the stack to have one built from base_image");
        return null;
    }

    /// <summary>
    /// The shell command the job runs: the settings' <c>entrypoint</c>, else the app as images Strata builds start it
    /// (<c>dotnet /app/APP.dll</c>; Azure ML runs a job's command instead of its image's ENTRYPOINT), then <c>strata-step</c> and its arguments.
    /// </summary>
    internal static string Command(StepLaunch launch, AzureMLSettings settings)
    {
        var (entrypoint, arguments) = launch.ImageCommand();
        IReadOnlyList<string> start = entrypoint ?? ["dotnet", $"/app/{AppName(launch) ?? "App"}.dll"];
        return string.Join(' ', start.Concat(arguments).Select(Quote));
    }

    /// <summary>The app assembly that defines the step, which images Strata builds start.</summary>
    private static string? AppName(StepLaunch launch) => string.IsNullOrWhiteSpace(launch.AppName) ? null : launch.AppName.Trim();

    /// <summary>A word for bash: as is when it holds only safe characters, else in single quotes.</summary>
    internal static string Quote(string word) =>
        word.Length > 0 && SafeWord().IsMatch(word) ? word : $"'{word.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    private static string Compute(AzureMLSettings settings, JsonObject properties, List<string> problems)
    {
        var target = settings.ComputeTargetName?.Trim();
        var mode = settings.Mode?.Trim().ToLowerInvariant() ?? (string.IsNullOrEmpty(target) ? "serverless" : "compute-cluster");
        if (!Modes.Contains(mode)) problems.Add($"mode '{settings.Mode}' is not one of serverless, compute-cluster, compute-instance");
        if (settings.InstanceCount < 1) problems.Add($"instance_count must be 1 or more; it is {settings.InstanceCount}");
        var resources = new JsonObject { ["instanceCount"] = Math.Max(1, settings.InstanceCount) };
        if (mode == "serverless")
        {
            if (!string.IsNullOrEmpty(target)) problems.Add($"mode serverless runs on no compute target, yet compute_target_name is '{target}'");
            if (string.IsNullOrWhiteSpace(settings.InstanceType))
                problems.Add("serverless jobs need instance_type (a VM size such as Standard_DS3_v2), or set compute_target_name to a compute cluster");
            else resources["instanceType"] = settings.InstanceType.Trim();
            properties["resources"] = resources;
            return $"serverless {settings.InstanceType?.Trim()}";
        }
        if (string.IsNullOrEmpty(target)) problems.Add($"mode {mode} needs compute_target_name, the name of the workspace's {mode[8..]}");
        else if (!ResourcePattern().IsMatch(target)) problems.Add($"compute_target_name '{target}' is not an Azure ML compute name");
        properties["computeId"] = target; // made a full resource id by the operator, which knows the workspace
        properties["resources"] = resources;
        return target ?? "";
    }

    private static JsonObject Tags(StepLaunch launch, AzureMLSettings settings, List<string> problems)
    {
        var tags = new JsonObject();
        foreach (var (k, v) in settings.Tags ?? [])
        {
            if (k.Length is 0 or > 512 || k.IndexOfAny(['<', '>', '%', '&', '\\', '?', '/']) >= 0)
                problems.Add($"tag '{k}' is not allowed by Azure (1-512 characters, none of < > % & \\ ? /)");
            tags[k] = v;
        }
        tags["strata.pipeline"] = launch.Pipeline;
        tags["strata.run"] = launch.RunName;
        tags["strata.step"] = launch.StepName;
        tags["strata.step_run_id"] = launch.StepRunId;
        return tags;
    }

    /// <summary>How to reach the artifact store, then the user's variables. Never secret values: Azure ML studio shows a job's variables.</summary>
    private static JsonObject Variables(StepLaunch launch, AzureMLSettings settings, List<string> problems)
    {
        var variables = new JsonObject();
        foreach (var (k, v) in launch.Environment) variables[k] = v;
        foreach (var (k, v) in settings.Environment ?? [])
        {
            if (!VariableName().IsMatch(k))
                problems.Add($"environment variable name '{k}' is not allowed (letters, digits and '_', not starting with a digit)");
            variables[k] = v;
        }
        return variables;
    }

    /// <summary>A name Azure ML accepts for an environment: letters, digits, '-' and '_', starting with a letter or digit.</summary>
    private static string ResourceName(string text)
    {
        var clean = NotResourceText().Replace(text, "-").Trim('-', '_');
        return clean.Length > 200 ? clean[..200] : clean.Length == 0 ? "strata" : clean;
    }

    private static string Experiment(string text) => ResourceName(text);

    [GeneratedRegex(@"^[A-Za-z0-9_./:=@%+,-]+$")]
    private static partial Regex SafeWord();

    [GeneratedRegex(@"[^A-Za-z0-9_-]")]
    private static partial Regex NotResourceText();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")]
    private static partial Regex ResourcePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex VariableName();
}
