using System.Text;

namespace Strata.Slurm;

/// <summary>
/// Slurm job names derived from step-run ids, so a job can be found again by name after an orchestrator restart.
/// Names are short, lower case and shell-safe: <c>strata-</c> then letters, digits and dashes only.
/// </summary>
internal static class SlurmJobName
{
    public const string Prefix = "strata-";

    /// <summary>
    /// <c>strata-&lt;first 8&gt;-&lt;last 12&gt;</c> of the id's letters and digits (a UUIDv7 step-run id keeps its
    /// timestamp head and random tail), or <c>strata-&lt;all of them&gt;</c> when the id has 20 or fewer.
    /// </summary>
    public static string ForStepRun(string stepRunId)
    {
        ArgumentNullException.ThrowIfNull(stepRunId);
        var sb = new StringBuilder(stepRunId.Length);
        foreach (var c in stepRunId)
            if (char.IsAsciiLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
        var id = sb.ToString();
        if (id.Length == 0)
            throw new SlurmException(SlurmErrorKind.InvalidSpec, $"Step-run id '{stepRunId}' has no letters or digits to name a Slurm job after.");
        return id.Length <= 20 ? Prefix + id : $"{Prefix}{id[..8]}-{id[^12..]}";
    }

    /// <summary>A name Strata accepts for a job: 1–200 characters of letters, digits, '-', '_' and '.'.</summary>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 200 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
