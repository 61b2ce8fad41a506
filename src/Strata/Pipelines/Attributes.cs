namespace Strata;

/// <summary>Marks a static method as a pipeline step.</summary>
/// <remarks>
/// A step takes any number of typed parameters (bound to other steps' outputs or literal values) and returns one value,
/// sync or async. A <see cref="ValueTuple"/> or record return gives several named outputs.
/// A running step reaches its run, name, logger and cancellation through <see cref="StepContext.Current"/>.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class StepAttribute : Attribute
{
    /// <summary>The step's name. <value>Default: the method name in snake_case.</value></summary>
    public string? Name { get; set; }

    /// <summary>
    /// An explicit code version. When set, the cache key uses it instead of a hash of the method's IL,
    /// so a change that does not alter results (logging, comments) keeps the cache.
    /// </summary>
    public string? Version { get; set; }

    /// <summary>Whether the step's outputs may be reused from an earlier run with the same key. <value>Default: true.</value></summary>
    public bool EnableCache { get; set; } = true;

    /// <summary>
    /// The step operator (a component of the active stack) that runs this step, or <see cref="StepOperatorNames.Default"/>
    /// for the stack's first one. <value>Default: null, the step runs in the orchestrator's process.</value>
    /// </summary>
    public string? StepOperator { get; set; }

    /// <summary>How many times to run the step again after it fails. Each attempt is recorded. <value>Default: 0.</value></summary>
    public int Retries { get; set; }

    /// <summary>The wait before the first retry, e.g. <c>5s</c>. <value>Default: 1s.</value></summary>
    public string? RetryDelay { get; set; }

    /// <summary>What each retry's wait is multiplied by. <value>Default: 2.</value></summary>
    public double Backoff { get; set; } = 2;

    /// <summary>How long the step may run, e.g. <c>30m</c>; then it is cancelled and fails. <value>Default: no limit (or the operator's
    /// <c>timeout</c>).</value></summary>
    public string? Timeout { get; set; }

    /// <summary>
    /// Secrets (<c>strata secret create</c>) the step receives as environment variables in its job: each key upper-cased,
    /// other characters than letters and digits as '_' (<c>aws_access_key_id</c> → <c>AWS_ACCESS_KEY_ID</c>).
    /// A run checks that they exist before it starts.
    /// </summary>
    public string[]? Secrets { get; set; }
}

/// <summary>Marks a static method <c>void M(PipelineBuilder p)</c> as a pipeline definition.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class PipelineAttribute : Attribute
{
    /// <summary>The pipeline's name. <value>Default: the declaring type's name in snake_case when the method is called <c>Build</c>, otherwise the method name
    /// in snake_case.</value></summary>
    public string? Name { get; set; }
}

/// <summary>
/// A portable resource request for a step: <c>[Resources(Cpus = 4, Gpus = 1, Memory = "16GiB")]</c>.
/// Each step operator flavor maps it to its own terms; one that cannot honour a field warns once per run.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ResourcesAttribute : Attribute
{
    /// <summary>CPU cores. <value>Default: 0, not requested.</value></summary>
    public double Cpus { get; set; }

    /// <summary>GPUs. <value>Default: 0, not requested.</value></summary>
    public int Gpus { get; set; }

    /// <summary>A GPU model where the backend lets one choose (e.g. <c>a100</c>).</summary>
    public string? GpuType { get; set; }

    /// <summary>Memory with a unit: <c>KiB|MiB|GiB|TiB</c> (powers of 1024) or <c>KB|MB|GB|TB</c> (powers of 1000).</summary>
    public string? Memory { get; set; }
}

/// <summary>Stack component name of the stack's default step operator (the first one), for <c>[Step(StepOperator = StepOperatorNames.Default)]</c>.</summary>
public static class StepOperatorNames
{
    public const string Default = "@default";
}
