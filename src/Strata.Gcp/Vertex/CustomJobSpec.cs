using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Gcp.Vertex;

/// <summary>A custom job as the operator will create it, and the step's secrets that were kept out of it.</summary>
internal sealed record CustomJobPlan(JsonObject Job, string DisplayName, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> WithheldSecrets);

/// <summary>
/// Turns a step launch into a Vertex AI CustomJob (REST v1, proto3 JSON): display name and labels from the step-run id, one
/// worker pool running the step's image with <c>strata-step --manifest URI</c>, machine, accelerator and disk, the job's
/// service account, network and key, <c>scheduling.timeout</c> from the step's timeout, and the environment without secret
/// values. Every problem is reported at once, before anything is sent.
/// </summary>
internal static partial class CustomJobSpec
{
    public const int MaxDisplayName = 128;

    /// <summary>The label that finds a step run's job again (a create whose answer was lost, a restart).</summary>
    public const string StepRunLabel = "strata-step-run";

    /// <summary>Vertex AI's accelerator types (AcceleratorType in aiplatform v1).</summary>
    public static readonly IReadOnlySet<string> AcceleratorTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "NVIDIA_A100_80GB", "NVIDIA_B200", "NVIDIA_GB200", "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB", "NVIDIA_L4",
        "NVIDIA_RTX_PRO_6000", "NVIDIA_TESLA_A100", "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4", "NVIDIA_TESLA_V100",
        "TPU_V2", "TPU_V3", "TPU_V4_POD", "TPU_V5_LITEPOD",
    };

    public static string DisplayName(StepLaunch launch) => StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName, MaxDisplayName);

    /// <summary>A label value from any text: lowercase letters, digits, '-' and '_', at most 63 characters.</summary>
    public static string LabelValue(string text)
    {
        var clean = NotLabelText().Replace(text.ToLowerInvariant(), "-");
        return clean.Length > 63 ? clean[^63..] : clean;
    }

    /// <exception cref="StrataConfigException">Lists everything Vertex AI would refuse or that cannot be passed to it.</exception>
    public static CustomJobPlan Build(StepLaunch launch, VertexStepOperatorConfig config)
    {
        var settings = (VertexSettings)launch.Settings;
        var problems = new List<string>();
        var name = DisplayName(launch);

        if (string.IsNullOrWhiteSpace(launch.Image))
            problems.Add("no image: set image to an image URI that holds the app (--image=REGION-docker.pkg.dev/PROJECT/REPO/app:TAG, or per step in its " +
                "settings), or add a container registry and an image builder to the stack to have it built from base_image");
        if (string.IsNullOrWhiteSpace(settings.MachineType)) problems.Add("machine_type is empty; choose one such as n1-standard-4");
        var machine = new JsonObject { ["machineType"] = settings.MachineType?.Trim() };
        if (!string.IsNullOrWhiteSpace(settings.AcceleratorType))
        {
            var type = settings.AcceleratorType.Trim().ToUpperInvariant();
            if (!AcceleratorTypes.Contains(type))
                problems.Add($"accelerator_type '{settings.AcceleratorType}' is not one Vertex AI knows; use one of " +
                    string.Join(", ", AcceleratorTypes.Order()));
            if (settings.AcceleratorCount < 0) problems.Add($"accelerator_count must be 0 or more; it is {settings.AcceleratorCount}");
            machine["acceleratorType"] = type;
            machine["acceleratorCount"] = Math.Max(1, settings.AcceleratorCount);
        }
        else if (settings.AcceleratorCount > 0)
            problems.Add("accelerator_count needs accelerator_type (e.g. --accelerator_type=NVIDIA_TESLA_T4)");
        if (settings.BootDiskSizeGb is < 100 or > 64_000) problems.Add($"boot_disk_size_gb must be from 100 to 64000; it is {settings.BootDiskSizeGb}");
        if (settings.BootDiskType is not ("pd-ssd" or "pd-standard" or "hyperdisk-balanced"))
            problems.Add($"boot_disk_type must be pd-ssd, pd-standard or hyperdisk-balanced; it is '{settings.BootDiskType}'");

        var (entrypoint, arguments) = launch.ImageCommand();
        var container = new JsonObject { ["imageUri"] = launch.Image?.Trim() };
        if (entrypoint is { Count: > 0 }) container["command"] = new JsonArray(entrypoint.Select(s => (JsonNode)s).ToArray());
        container["args"] = new JsonArray(arguments.Select(s => (JsonNode)s).ToArray());
        // Vertex AI requires a value for each variable (an empty one reads as unset): those are left out.
        var environment = Environment(launch, settings, problems).Where(kv => kv.Value.Length > 0).ToArray();
        if (environment.Length > 0)
            container["env"] = new JsonArray(environment.Select(kv => (JsonNode)new JsonObject { ["name"] = kv.Key, ["value"] = kv.Value }).ToArray());

        var spec = new JsonObject
        {
            ["workerPoolSpecs"] = new JsonArray(new JsonObject
            {
                ["machineSpec"] = machine,
                ["replicaCount"] = "1",
                ["diskSpec"] = new JsonObject { ["bootDiskType"] = settings.BootDiskType, ["bootDiskSizeGb"] = settings.BootDiskSizeGb },
                ["containerSpec"] = container,
            }),
        };
        if (!string.IsNullOrWhiteSpace(config.ServiceAccount))
        {
            if (!config.ServiceAccount.Contains('@', StringComparison.Ordinal))
                problems.Add($"service_account '{config.ServiceAccount}' is not a service account's email (NAME@PROJECT.iam.gserviceaccount.com)");
            spec["serviceAccount"] = config.ServiceAccount.Trim();
        }
        if (!string.IsNullOrWhiteSpace(config.Network)) spec["network"] = config.Network.Trim();
        if (config.ReservedIpRanges is { Count: > 0 } ranges)
        {
            if (string.IsNullOrWhiteSpace(config.Network)) problems.Add("reserved_ip_ranges needs network");
            spec["reservedIpRanges"] = new JsonArray(ranges.Select(r => (JsonNode)r.Trim()).ToArray());
        }
        if (launch.Timeout is { } timeout)
            spec["scheduling"] = new JsonObject
            {
                ["timeout"] = $"{Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}s",
            };

        var labels = Labels(launch, settings, problems);
        if (problems.Count > 0)
            throw new StrataConfigException($"Cannot run step '{launch.StepName}' as Vertex AI custom job {name}: {string.Join("; ", problems)}.");

        var job = new JsonObject
        {
            ["displayName"] = name,
            ["jobSpec"] = spec,
            ["labels"] = new JsonObject(labels.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
        };
        if (!string.IsNullOrWhiteSpace(config.EncryptionSpecKeyName))
            job["encryptionSpec"] = new JsonObject { ["kmsKeyName"] = config.EncryptionSpecKeyName.Trim() };
        return new CustomJobPlan(job, name, labels, launch.Secrets.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>
    /// How to reach the artifact store (without the key file's local path: the job uses its service account), then the
    /// user's variables. Never secret values: Vertex AI shows a job's spec to anyone who can read the job.
    /// </summary>
    private static Dictionary<string, string> Environment(StepLaunch launch, VertexSettings settings, List<string> problems)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in launch.Environment) environment[k] = v;
        if (environment.TryGetValue(ArtifactStoreLocator.EnvironmentVariable, out var locator))
            environment[ArtifactStoreLocator.EnvironmentVariable] = WithoutLocalCredentials(locator);
        foreach (var (k, v) in settings.Environment ?? [])
        {
            if (!EnvironmentKey().IsMatch(k))
                problems.Add($"environment variable name '{k}' is not allowed (letters, digits and '_', not starting with a digit)");
            environment[k] = v;
        }
        return environment;
    }

    /// <summary>Drops the store's <c>credentials_file</c>: a path on this machine, which a job does not have.</summary>
    internal static string WithoutLocalCredentials(string locatorJson)
    {
        try
        {
            if (JsonNode.Parse(locatorJson) is JsonObject root && root["config"] is JsonObject store && store.Remove("credentials_file"))
                return root.ToJsonString();
        }
        catch (System.Text.Json.JsonException)
        {
            // not ours to judge: the entrypoint reports a malformed locator
        }
        return locatorJson;
    }

    private static Dictionary<string, string> Labels(StepLaunch launch, VertexSettings settings, List<string> problems)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in settings.Labels ?? [])
        {
            if (!LabelKey().IsMatch(k))
                problems.Add($"label key '{k}' is not allowed by Vertex AI (1-63 lowercase letters, digits, '-' and '_', starting with a letter)");
            if (!LabelText().IsMatch(v))
                problems.Add($"the value of label '{k}' is not allowed by Vertex AI (up to 63 lowercase letters, digits, '-' and '_')");
            labels[k] = v;
        }
        labels["strata-pipeline"] = LabelValue(launch.Pipeline);
        labels["strata-run"] = LabelValue(launch.RunName);
        labels["strata-step"] = LabelValue(launch.StepName);
        labels[StepRunLabel] = LabelValue(launch.StepRunId);
        if (labels.Count > 64) problems.Add($"{labels.Count} labels; Vertex AI takes at most 64 (Strata adds 4)");
        return labels;
    }

    [GeneratedRegex(@"[^a-z0-9_-]")]
    private static partial Regex NotLabelText();

    [GeneratedRegex(@"^[a-z][a-z0-9_-]{0,62}$")]
    private static partial Regex LabelKey();

    [GeneratedRegex(@"^[a-z0-9_-]{0,63}$")]
    private static partial Regex LabelText();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex EnvironmentKey();
}
