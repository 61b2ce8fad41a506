using System.Globalization;

namespace Strata.Slurm;

/// <summary>
/// A way to talk to one Slurm cluster: the Slurm commands on this host (<see cref="SlurmCliTransport"/>) or slurmrestd
/// (<see cref="SlurmRestTransport"/>). Job ids are Slurm's decimal job ids as strings.
/// </summary>
internal interface ISlurmTransport
{
    /// <summary>
    /// Submits a batch job (after <see cref="SlurmJobSpec.Validate"/>) and returns its job id; for a job array
    /// (<see cref="SlurmJobSpec.ArrayTasks"/>) the array job id, whose task N is then <c>ID_N</c>.
    /// </summary>
    Task<string> SubmitAsync(SlurmJobSpec spec, CancellationToken cancellationToken = default);

    /// <summary>The job's state, or null when Slurm no longer knows the job (finished jobs vanish after MinJobAge).</summary>
    Task<SlurmJobState?> GetJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The states of several jobs in one request where the transport can (one squeue for the CLI); a job Slurm no longer
    /// knows is missing from the result.
    /// </summary>
    Task<IReadOnlyDictionary<string, SlurmJobState>> GetJobsAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default);

    /// <summary>Every job Slurm still knows with exactly this name (finished ones too, until MinJobAge), by ascending job id.</summary>
    Task<IReadOnlyList<SlurmJobState>> FindJobsByNameAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Cancels the job (an array task alone when given <c>ID_N</c>). A job that already ended or is unknown is not an error.</summary>
    Task CancelAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The cluster's MaxArraySize (task ids of an array must be below it), or null when the transport cannot tell.</summary>
    Task<int?> GetMaxArraySizeAsync(CancellationToken cancellationToken = default);
}

internal static class SlurmJobIds
{
    /// <summary>Slurm's default MaxArraySize, for a transport that cannot ask the cluster.</summary>
    public const int DefaultMaxArraySize = 1001;

    /// <summary>Throws unless <paramref name="jobId"/> is a Slurm job id (digits, e.g. 1234) or an array task's (<c>1234_7</c>).</summary>
    public static string Check(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var parts = jobId.Split('_');
        if (jobId.Length > 30 || parts.Length > 2 || parts.Any(p => p.Length == 0 || p.Length > 20 || !p.All(char.IsAsciiDigit)))
            throw new SlurmException(SlurmErrorKind.InvalidSpec,
                $"'{jobId}' is not a Slurm job id (expected digits, e.g. 1234, or an array task, e.g. 1234_7).");
        return jobId;
    }

    /// <summary>The id a job goes by: <c>ARRAYJOBID_TASKID</c> for an array task, else its job id.</summary>
    public static string Of(string jobId, string? arrayJobId, string? arrayTaskId) =>
        arrayJobId is { Length: > 0 } a && a != "0" && a.All(char.IsAsciiDigit) && arrayTaskId is { Length: > 0 } t && t.All(char.IsAsciiDigit)
            && t.Length < 10 ? $"{a}_{t}" : jobId;

    /// <summary>Orders job ids by array job id, then task id (plain jobs as their own array job).</summary>
    public static (long Job, long Task) SortKey(string jobId)
    {
        var parts = jobId.Split('_');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 ? long.Parse(parts[1], CultureInfo.InvariantCulture) : -1);
    }
}
