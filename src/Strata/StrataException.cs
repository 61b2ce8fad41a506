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
    internal StrataConfigException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A pipeline whose wiring is wrong in a way the compiler cannot see. Lists every problem found.</summary>
public sealed class PipelineValidationException : StrataException
{
    internal PipelineValidationException(string pipeline, IReadOnlyList<string> problems)
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
    internal StoreException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>An artifact that cannot be read or written: a missing URI, a path outside the store, a content hash mismatch.</summary>
public sealed class ArtifactException : StrataException
{
    internal ArtifactException(string message, Exception? inner = null) : base(message, inner) { }
}
