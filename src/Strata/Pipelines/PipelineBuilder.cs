using System.Text.RegularExpressions;

namespace Strata;

/// <summary>
/// Wires step invocations into a pipeline. Each <c>Step(...)</c> call adds an invocation and returns its output,
/// which later steps take as an argument; any other argument is a literal value.
/// </summary>
public sealed partial class PipelineBuilder
{
    private readonly List<StepNode> _nodes = [];
    private readonly Dictionary<string, int> _invocations = [];

    private readonly MaterializerRegistry _materializers;

    internal PipelineBuilder(string name, MaterializerRegistry materializers)
    {
        Name = name;
        _materializers = materializers;
    }

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    internal IReadOnlyList<StepNode> Nodes => _nodes;

    private StepOutput<TResult> Add<TResult>(Delegate step, object?[] args)
    {
        ArgumentNullException.ThrowIfNull(step);
        var definition = StepDefinition.For(step, _materializers);
        var bindings = new StepBinding[args.Length];
        for (var i = 0; i < args.Length; i++)
            bindings[i] = args[i] is IStepOutput output
                ? new OutputBinding(output.Node, output.OutputName)
                : new LiteralBinding(args[i]);
        var node = new StepNode(this, definition, NextName(definition.Name), _nodes.Count, bindings);
        _nodes.Add(node);
        return new StepOutput<TResult>(node, definition.Shape == OutputShape.Single ? definition.Outputs[0].Name : null);
    }

    private string NextName(string baseName)
    {
        var count = _invocations.GetValueOrDefault(baseName);
        _invocations[baseName] = count + 1;
        return count == 0 ? baseName : $"{baseName}_{count + 1}";
    }
}

/// <summary>How one step parameter gets its value.</summary>
internal abstract record StepBinding;

internal sealed record LiteralBinding(object? Value) : StepBinding;

/// <summary>Bound to an output of an upstream node; a null output name means the upstream's whole return value.</summary>
internal sealed record OutputBinding(StepNode Node, string? OutputName) : StepBinding;

/// <summary>One invocation of a step inside a pipeline.</summary>
internal sealed class StepNode(PipelineBuilder owner, StepDefinition definition, string name, int index, StepBinding[] bindings)
{
    public PipelineBuilder Owner { get; } = owner;
    public StepDefinition Definition { get; } = definition;
    public string Name { get; set; } = name;
    public bool ExplicitName { get; set; }

    /// <summary>The step operator chosen where the pipeline wires the step; wins over [Step(StepOperator)].</summary>
    public string? StepOperator { get; set; }

    /// <summary>Settings for the step's operator given where the pipeline wires the step.</summary>
    public Dictionary<string, string> Settings { get; } = [];
    public int Index { get; } = index;
    public StepBinding[] Bindings { get; } = bindings;

    /// <summary>Upstream nodes this one reads from, each once (kept: a run asks several times for each of its steps).</summary>
    public IReadOnlyList<StepNode> Upstream => _upstream ??= [.. Bindings.OfType<OutputBinding>().Select(b => b.Node).Distinct()];

    private StepNode[]? _upstream;

    public override string ToString() => Name;
}

internal static partial class PipelineNames
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    public static partial Regex Valid();
}
