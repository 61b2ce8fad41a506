using Microsoft.Extensions.Logging;

namespace Strata;

/// <summary>
/// What a running step can know about itself, through <see cref="Current"/>.
/// Console output and <see cref="Logger"/> messages are stored with the step.
/// </summary>
public sealed class StepContext
{
    private static readonly AsyncLocal<StepContext?> CurrentContext = new();

    /// <summary>The context of the step running on this async flow; null outside a step.</summary>
    public static StepContext? Current
    {
        get => CurrentContext.Value;
        internal set => CurrentContext.Value = value;
    }

    internal StepContext(string pipeline, string runId, string runName, string stepName, string stepRunId, ILogger logger, string workingDirectory,
        CancellationToken cancellationToken)
    {
        CancellationToken = cancellationToken;
        Pipeline = pipeline;
        RunId = runId;
        RunName = runName;
        StepName = stepName;
        StepRunId = stepRunId;
        Logger = logger;
        WorkingDirectory = workingDirectory;
    }

    public string Pipeline { get; }
    public string RunId { get; }
    public string RunName { get; }
    public string StepName { get; }
    public string StepRunId { get; }

    /// <summary>A logger whose messages are shown live and stored with the step.</summary>
    public ILogger Logger { get; }

    /// <summary>Signalled when the run is cancelled or the step times out.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>A scratch directory for this step invocation.</summary>
    public string WorkingDirectory { get; }
}
