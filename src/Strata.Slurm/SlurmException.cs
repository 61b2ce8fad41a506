namespace Strata.Slurm;

/// <summary>What kind of Slurm problem a <see cref="SlurmException"/> reports.</summary>
public enum SlurmErrorKind
{
    /// <summary>The job description is not valid before anything was sent (a bad option, name or path).</summary>
    InvalidSpec,
    /// <summary>Slurm refused the request (an unknown partition, a resource the cluster does not have, ...).</summary>
    Rejected,
    /// <summary>The credentials were refused: a missing, malformed, expired or wrongly signed token.</summary>
    Authentication,
    /// <summary>Slurm could not be reached: a missing command, a REST endpoint that does not answer, a controller that is down.</summary>
    Unavailable,
    /// <summary>Slurm answered with something this client does not understand.</summary>
    Protocol,
}

/// <summary>A Slurm request that failed in a way the user can fix; the message names what went wrong and where.</summary>
public sealed class SlurmException : StrataException
{
    public SlurmException(SlurmErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    public SlurmErrorKind Kind { get; }
}
