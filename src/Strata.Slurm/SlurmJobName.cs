namespace Strata.Slurm;

/// <summary>What Strata accepts as a Slurm job name. Step jobs are named by <see cref="StepJobNames.For"/>.</summary>
internal static class SlurmJobName
{
    /// <summary>A name Strata accepts for a job: 1–200 characters of letters, digits, '-', '_' and '.'.</summary>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 200 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
