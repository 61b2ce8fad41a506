using System.Linq.Expressions;

namespace Strata;

/// <summary>Something a step parameter can be bound to inside a pipeline: another step's output.</summary>
public abstract class StepInput<T>
{
    private protected StepInput() { }
}

/// <summary>An output of a step invocation inside a pipeline being built. Pass it to another step to wire them.</summary>
public sealed class StepOutput<T> : StepInput<T>, IStepOutput
{
    internal StepOutput(StepNode node, string? outputName)
    {
        Node = node;
        OutputName = outputName;
    }

    internal StepNode Node { get; }

    /// <summary>The named output, or null for the whole return value (which may span several outputs).</summary>
    internal string? OutputName { get; }

    StepNode IStepOutput.Node => Node;
    string? IStepOutput.OutputName => OutputName;

    /// <summary>The invocation name of the step that produces this output.</summary>
    public string StepName => Node.Name;

    /// <summary>Gives this step invocation an explicit name (instead of <c>train</c>, <c>train_2</c>, ...).</summary>
    public StepOutput<T> Named(string name)
    {
        Node.Name = name;
        Node.ExplicitName = true;
        return this;
    }

    /// <summary>Runs this invocation on a step operator of the stack (wins over <c>[Step(StepOperator)]</c>); null runs it in-process.</summary>
    public StepOutput<T> OnStepOperator(string? stepOperator)
    {
        Node.StepOperator = stepOperator ?? "";
        return this;
    }

    /// <summary>Settings for this invocation's step operator: a settings object of the operator's flavor, e.g.
    /// <c>new LocalProcessSettings { Timeout = ... }</c>.</summary>
    public StepOutput<T> WithSettings(StepOperatorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var (key, value) in ConfigSchema.For(settings.GetType()).ValuesOf(settings))
            Node.Settings[key] = value;
        return this;
    }

    /// <summary>Settings for this invocation's step operator as <c>key=value</c> pairs, checked against the flavor before the run.</summary>
    public StepOutput<T> WithSettings(IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var (key, value) in settings)
            Node.Settings[key.Replace('-', '_')] = value;
        return this;
    }

    /// <summary>One output of a step that returns a record: <c>p.Step(Split, data).Output(s => s.Train)</c>.</summary>
    public StepOutput<TProperty> Output<TProperty>(Expression<Func<T, TProperty>> property)
    {
        if (property.Body is not MemberExpression member)
            throw new ArgumentException("Pass a property access such as s => s.Train.", nameof(property));
        var output = Node.Definition.Outputs.FirstOrDefault(o => o.Member == member.Member.Name)
            ?? throw new ArgumentException($"Step '{Node.Name}' has no output for member '{member.Member.Name}'. Outputs: " +
                $"{string.Join(", ", Node.Definition.Outputs.Select(o => o.Name))}.", nameof(property));
        return new StepOutput<TProperty>(Node, output.Name);
    }

    /// <summary>One output of a step by its name.</summary>
    public StepOutput<TOutput> Output<TOutput>(string name)
    {
        var output = Node.Definition.Outputs.FirstOrDefault(o => o.Name == name)
            ?? throw new ArgumentException($"Step '{Node.Name}' has no output '{name}'. Outputs: " +
                $"{string.Join(", ", Node.Definition.Outputs.Select(o => o.Name))}.", nameof(name));
        if (!typeof(TOutput).IsAssignableFrom(output.Type))
            throw new ArgumentException($"Output '{name}' of step '{Node.Name}' is a {output.Type.Name}, not a {typeof(TOutput).Name}.", nameof(name));
        return new StepOutput<TOutput>(Node, output.Name);
    }

    public override string ToString() => OutputName is null ? Node.Name : $"{Node.Name}.{OutputName}";
}

internal interface IStepOutput
{
    StepNode Node { get; }
    string? OutputName { get; }
}

/// <summary>Deconstructs a step that returns a tuple into its outputs: <c>var (train, test) = p.Step(Split, data);</c></summary>
public static class StepOutputTupleExtensions
{
    public static void Deconstruct<T1, T2>(this StepOutput<(T1, T2)> o, out StepOutput<T1> a, out StepOutput<T2> b)
    {
        a = Item<T1>(o, 0); b = Item<T2>(o, 1);
    }

    public static void Deconstruct<T1, T2, T3>(this StepOutput<(T1, T2, T3)> o, out StepOutput<T1> a, out StepOutput<T2> b, out StepOutput<T3> c)
    {
        a = Item<T1>(o, 0); b = Item<T2>(o, 1); c = Item<T3>(o, 2);
    }

    public static void Deconstruct<T1, T2, T3, T4>(this StepOutput<(T1, T2, T3, T4)> o, out StepOutput<T1> a, out StepOutput<T2> b, out StepOutput<T3> c,
        out StepOutput<T4> d)
    {
        a = Item<T1>(o, 0); b = Item<T2>(o, 1); c = Item<T3>(o, 2); d = Item<T4>(o, 3);
    }

    public static void Deconstruct<T1, T2, T3, T4, T5>(this StepOutput<(T1, T2, T3, T4, T5)> o, out StepOutput<T1> a, out StepOutput<T2> b,
        out StepOutput<T3> c, out StepOutput<T4> d, out StepOutput<T5> e)
    {
        a = Item<T1>(o, 0); b = Item<T2>(o, 1); c = Item<T3>(o, 2); d = Item<T4>(o, 3); e = Item<T5>(o, 4);
    }

    private static StepOutput<T> Item<T>(IStepOutput o, int index) => new(o.Node, o.Node.Definition.Outputs[index].Name);
}
