using System.Text.Json;

namespace Strata;

/// <summary>
/// What a run was given beside its pipeline (per-step overrides, parallelism), stored with the run as JSON so that
/// <c>strata run resume</c> runs the remaining steps as the run meant to, without being told again.
/// </summary>
internal sealed record RunConfig(Dictionary<string, StepOverride> Steps, int? MaxParallelism)
{
    /// <summary>The options' config as JSON, or null when there is nothing to keep.</summary>
    public static string? Of(RunOptions options) => options.Steps.Count == 0 && options.MaxParallelism is null
        ? null
        : JsonSerializer.Serialize(new RunConfig(options.Steps, options.MaxParallelism), StrataJson.Compact);

    /// <summary>
    /// The options a resume runs with: what it was given, else what the run was given. Returns whether the stored config was used.
    /// </summary>
    public static (RunOptions Options, bool FromRun) ForResume(RunOptions given, RunRecord run)
    {
        if (given.Steps.Count > 0 || run.Config is null) return (given, false);
        var stored = JsonSerializer.Deserialize<RunConfig>(run.Config, StrataJson.Compact);
        if (stored is null) return (given, false);
        return (new RunOptions
        {
            NoCache = given.NoCache,
            MaxParallelism = given.MaxParallelism ?? stored.MaxParallelism,
            Stack = given.Stack,
            RunName = given.RunName,
            Steps = stored.Steps ?? [],
            TimeProvider = given.TimeProvider,
            Observer = given.Observer,
        }, true);
    }
}
