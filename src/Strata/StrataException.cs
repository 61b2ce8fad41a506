namespace Strata;

/// <summary>
/// An error the user can cause and fix: bad configuration, an unknown flavor, a wiring mistake,
/// a stack that does not fit. The message names the fix; the CLI prints it without a trace and exits with 2.
/// </summary>
public abstract class StrataException : Exception
{
    protected StrataException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Bad input to a command or an API: a config key, a value of the wrong type, a name that is taken or unknown.</summary>
public sealed class StrataConfigException : StrataException
{
    public StrataConfigException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A pipeline whose wiring is wrong in a way the compiler cannot see. Lists every problem found.</summary>
public sealed class PipelineValidationException : StrataException
{
    public PipelineValidationException(string pipeline, IReadOnlyList<string> problems)
        : base($"Pipeline '{pipeline}' is not valid:{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", problems))
    {
        Pipeline = pipeline;
        Problems = problems;
    }

    public string Pipeline { get; }
    public IReadOnlyList<string> Problems { get; }
}

/// <summary>The metadata store cannot be used: corrupt, written by a newer Strata, or unreachable.</summary>
public sealed class StoreException : StrataException
{
    public StoreException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>An artifact that cannot be read or written: a missing URI, a path outside the store, a content hash mismatch.</summary>
public sealed class ArtifactException : StrataException
{
    public ArtifactException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A pipeline that cannot run on a stack as it is. Lists every problem, each naming what to change.</summary>
public sealed class StackValidationException : StrataException
{
    public StackValidationException(string stack, IReadOnlyList<string> problems)
        : base($"Cannot run on stack '{stack}':{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", problems))
    {
        Stack = stack;
        Problems = problems;
    }

    public string Stack { get; }
    public IReadOnlyList<string> Problems { get; }
}

/// <summary>A step that ran elsewhere and failed: what failed there, where, and the end of its log.</summary>
public sealed class StepFailedException : Exception
{
    internal StepFailedException(string message, string step, string? stepOperator, string? jobId, StepJobState? state, int? exitCode, string? remoteType,
        string? logTail)
        : base(message)
    {
        Step = step;
        StepOperator = stepOperator;
        JobId = jobId;
        State = state;
        ExitCode = exitCode;
        RemoteType = remoteType;
        LogTail = logTail;
    }

    public string Step { get; }
    public string? StepOperator { get; }
    public string? JobId { get; }
    public StepJobState? State { get; }
    public int? ExitCode { get; }

    /// <summary>The full name of the exception type the step threw, when it threw one.</summary>
    public string? RemoteType { get; }

    /// <summary>The last lines of the job's log.</summary>
    public string? LogTail { get; }
}

/// <summary>A step that ran too long, or waited too long in its backend's queue; its job was cancelled.</summary>
public sealed class StepTimeoutException : Exception
{
    internal StepTimeoutException(string message, bool pending) : base(message) => Pending = pending;

    /// <summary>True when the job never started (pending timeout); false when it ran too long.</summary>
    public bool Pending { get; }
}
