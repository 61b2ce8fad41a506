namespace Strata.Slurm;

/// <summary>
/// A way to talk to one Slurm cluster: the Slurm commands on this host (<see cref="SlurmCliTransport"/>) or slurmrestd
/// (<see cref="SlurmRestTransport"/>). Job ids are Slurm's decimal job ids as strings.
/// </summary>
internal interface ISlurmTransport
{
    /// <summary>Submits a batch job (after <see cref="SlurmJobSpec.Validate"/>) and returns its job id.</summary>
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

    /// <summary>Cancels the job. A job that already ended or is unknown is not an error.</summary>
    Task CancelAsync(string jobId, CancellationToken cancellationToken = default);
}

internal static class SlurmJobIds
{
    /// <summary>Throws unless <paramref name="jobId"/> is a plain Slurm job id (digits only).</summary>
    public static string Check(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (jobId.Length == 0 || jobId.Length > 20 || !jobId.All(char.IsAsciiDigit))
            throw new SlurmException(SlurmErrorKind.InvalidSpec, $"'{jobId}' is not a Slurm job id (expected digits, e.g. 1234).");
        return jobId;
    }
}
