using System.Reflection;
using System.Text.Json;

namespace Strata;

/// <summary>A built and validated pipeline: its step invocations in an order where every input comes first.</summary>
public sealed class PipelineDefinition
{
    private PipelineDefinition(string name, IReadOnlyList<StepNode> nodes, IReadOnlyDictionary<StepNode, string?[]> parameterJson)
    {
        Nodes = nodes;
        Name = name;
        ParameterJson = parameterJson;
    }

    /// <summary>The pipeline method this was built from, when it is a named static method (so a run can be resumed).</summary>
    public MethodInfo? Method { get; private init; }

    public string Name { get; }

    /// <summary>The names of the step invocations, in wiring order.</summary>
    public IReadOnlyList<string> StepNames => Nodes.Select(n => n.Name).ToArray();

    internal IReadOnlyList<StepNode> Nodes { get; }

    /// <summary>Each node's literal parameters as JSON, null where the parameter is bound to an output.</summary>
    internal IReadOnlyDictionary<StepNode, string?[]> ParameterJson { get; }

    /// <summary>Calls a pipeline method with a fresh builder and validates the result.</summary>
    /// <exception cref="PipelineValidationException">The wiring is wrong; every problem is listed.</exception>
    public static PipelineDefinition Build(Action<PipelineBuilder> pipeline, string? name = null, MaterializerRegistry? materializers = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var attribute = pipeline.Method.GetCustomAttribute<PipelineAttribute>();
        var resolvedName = name ?? attribute?.Name ?? DefaultName(pipeline.Method);
        materializers ??= MaterializerRegistry.Default;
        StrataSetups.Apply(pipeline.Method.Module.Assembly, materializers, FlavorRegistry.Default);
        var builder = new PipelineBuilder(resolvedName, materializers);
        pipeline(builder);
        var definition = Validate(builder, materializers);
        return pipeline.Method.IsStatic && !pipeline.Method.Name.Contains('<')
            ? new PipelineDefinition(definition.Name, definition.Nodes, definition.ParameterJson) { Method = pipeline.Method }
            : definition;
    }

    internal static string DefaultName(MethodInfo method) =>
        method.Name.Contains('<') ? "pipeline" // a lambda: compiler-generated names are not names
        : Naming.ToSnakeCase(method.Name == "Build" && method.DeclaringType is not null ? method.DeclaringType.Name : method.Name);

    private static PipelineDefinition Validate(PipelineBuilder builder, MaterializerRegistry materializers)
    {
        var problems = new List<string>();
        if (!PipelineNames.Valid().IsMatch(builder.Name))
            problems.Add($"pipeline name '{builder.Name}' is not valid: use letters, digits, '_', '-' and '.'");
        if (builder.Nodes.Count == 0)
            problems.Add("the pipeline has no steps: call p.Step(...) in the pipeline method");

        foreach (var group in builder.Nodes.GroupBy(n => n.Name).Where(g => g.Count() > 1))
            problems.Add($"step name '{group.Key}' is used by {group.Count()} invocations: give each a distinct name with .Named(\"...\")");

        var parameterJson = new Dictionary<StepNode, string?[]>();
        foreach (var node in builder.Nodes)
        {
            var d = node.Definition;
            if (!PipelineNames.Valid().IsMatch(node.Name))
                problems.Add($"step name '{node.Name}' is not valid: use letters, digits, '_', '-' and '.'");
            if (!d.HasStepAttribute)
                problems.Add($"step '{node.Name}': method {d.FullName} is not marked [Step]");
            foreach (var output in d.Outputs)
                if (!materializers.CanMaterialize(output.Type))
                    problems.Add($"step '{node.Name}': output '{output.Name}' of type {TypeNames.Display(output.Type)} has no materializer; register one " +
                        "with MaterializerRegistry.Register");

            var json = new string?[d.Parameters.Count];
            for (var i = 0; i < d.Parameters.Count; i++)
            {
                var parameter = d.Parameters[i];
                switch (node.Bindings[i])
                {
                    case OutputBinding ob when ob.Node.Owner != builder:
                        problems.Add($"step '{node.Name}', parameter '{parameter.Name}': bound to an output of step '{ob.Node.Name}' from another pipeline " +
                            $"('{ob.Node.Owner.Name}')");
                        break;
                    case LiteralBinding lb:
                        json[i] = LiteralJson(node, parameter, lb.Value, problems);
                        break;
                }
            }
            parameterJson[node] = json;
        }

        if (problems.Count > 0)
            throw new PipelineValidationException(builder.Name, problems);
        return new PipelineDefinition(builder.Name, builder.Nodes, parameterJson);
    }

    private static string? LiteralJson(StepNode node, StepParameter parameter, object? value, List<string> problems)
    {
        if (value is null)
        {
            if (parameter.Type.IsValueType && Nullable.GetUnderlyingType(parameter.Type) is null)
                problems.Add($"step '{node.Name}', parameter '{parameter.Name}': null given for a {TypeNames.Display(parameter.Type)}");
            return "null";
        }
        try
        {
            var json = JsonSerializer.Serialize(value, parameter.Type, StrataJson.Options);
            var back = JsonSerializer.Deserialize(json, parameter.Type, StrataJson.Options);
            if (back is null)
                throw new NotSupportedException("it does not read back");
            return json;
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
        {
            problems.Add($"step '{node.Name}', parameter '{parameter.Name}': the literal value of type {TypeNames.Display(value.GetType())} cannot be stored " +
                $"as a parameter ({e.Message}); pass it as another step's output instead");
            return null;
        }
    }
}
