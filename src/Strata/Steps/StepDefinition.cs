using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Strata;

/// <summary>How a step's return value maps onto stored outputs.</summary>
internal enum OutputShape
{
    /// <summary>One output called <c>output</c>.</summary>
    Single,
    /// <summary>A value tuple: one output per element, named by the tuple element names.</summary>
    Tuple,
    /// <summary>A record: one output per public property.</summary>
    Record,
}

internal sealed record StepParameter(string Name, Type Type, int Position);

/// <summary>One named output of a step. <see cref="Member"/> is the tuple field or record property it comes from.</summary>
internal sealed record StepOutputDefinition(string Name, Type Type, string? Member);

/// <summary>A step method, read once by reflection: its parameters, outputs, code version and options.</summary>
internal sealed class StepDefinition
{
    private static readonly ConditionalWeakTable<MaterializerRegistry, Definitions> Cache = new();

    /// <summary>
    /// The definitions read with one version of a registry's materializers (an output's materializer is part of its definition).
    /// Keyed by method alone: a table keyed by a tuple has generic code every process compiles afresh.
    /// </summary>
    private sealed class Definitions(int version)
    {
        public int Version { get; } = version;
        public ConcurrentDictionary<MethodInfo, StepDefinition> ByMethod { get; } = new();
    }

    private StepDefinition(MethodInfo method, MaterializerRegistry materializers)
    {
        Method = method;
        var attribute = method.GetCustomAttribute<StepAttribute>();
        Name = attribute?.Name ?? Naming.ToSnakeCase(method.Name);
        EnableCache = attribute?.EnableCache ?? true;
        ExplicitVersion = attribute?.Version;
        Secrets = attribute?.Secrets?.Distinct(StringComparer.Ordinal).ToArray() ?? [];
        HasStepAttribute = attribute is not null;
        StepOperator = attribute?.StepOperator;
        Retries = attribute?.Retries ?? 0;
        Backoff = attribute?.Backoff ?? 2;
        RetryDelayText = attribute?.RetryDelay;
        TimeoutText = attribute?.Timeout;
        ResourcesAttribute = method.GetCustomAttribute<ResourcesAttribute>();
        FullName = $"{method.DeclaringType?.FullName}.{method.Name}";

        Parameters = method.GetParameters()
            .Select(p => new StepParameter(p.Name ?? $"arg{p.Position}", p.ParameterType, p.Position))
            .ToArray();

        (ReturnType, IsAsync) = UnwrapReturnType(method.ReturnType);
        (Shape, Outputs) = ReadOutputs(method, ReturnType, materializers);
        _codeVersion = new Lazy<string>(() => ExplicitVersion ?? Strata.CodeVersion.Of(method));
    }

    private readonly Lazy<string> _codeVersion;

    public MethodInfo Method { get; }
    public string Name { get; }
    public string FullName { get; }
    public bool EnableCache { get; }
    public string? ExplicitVersion { get; }

    /// <summary>The secrets the step asks for (<see cref="StepAttribute.Secrets"/>), to give its job as environment variables.</summary>
    public IReadOnlyList<string> Secrets { get; }
    public bool HasStepAttribute { get; }
    public string? StepOperator { get; }
    public int Retries { get; }
    public double Backoff { get; }
    public string? RetryDelayText { get; }
    public string? TimeoutText { get; }
    public ResourcesAttribute? ResourcesAttribute { get; }
    public IReadOnlyList<StepParameter> Parameters { get; }
    public Type ReturnType { get; }
    public bool IsAsync { get; }
    public OutputShape Shape { get; }
    public IReadOnlyList<StepOutputDefinition> Outputs { get; }

    /// <summary>The explicit <see cref="StepAttribute.Version"/>, or a hash of the IL of the method and what it calls in its assembly.</summary>
    public string CodeVersion => _codeVersion.Value;

    /// <summary>The definition of a step method; how a record return splits depends on the registry's materializers.</summary>
    public static StepDefinition For(MethodInfo method, MaterializerRegistry? materializers = null)
    {
        materializers ??= MaterializerRegistry.Default;
        var version = materializers.Version;
        if (!Cache.TryGetValue(materializers, out var definitions) || definitions.Version != version)
            Cache.AddOrUpdate(materializers, definitions = new Definitions(version));
        return definitions.ByMethod.GetOrAdd(method, static (m, r) => new StepDefinition(m, r), materializers);
    }

    public static StepDefinition For(Delegate step, MaterializerRegistry? materializers = null)
    {
        if (step.Target is not null && !step.Method.IsStatic)
            throw new ArgumentException($"Step '{step.Method.Name}' must be a static method: a step may run in another process, where no instance exists.",
                nameof(step));
        if (step.Method.Name.Contains('<'))
            throw new ArgumentException("A step must be a named static method marked [Step], not a lambda.", nameof(step));
        return For(step.Method, materializers);
    }

    private static (Type, bool) UnwrapReturnType(Type t)
    {
        if (t == typeof(void) || t == typeof(Task) || t == typeof(ValueTask))
            throw new ArgumentException("A step must return a value.");
        if (t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Task<>) || t.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            return (t.GetGenericArguments()[0], true);
        return (t, false);
    }

    private static (OutputShape, IReadOnlyList<StepOutputDefinition>) ReadOutputs(MethodInfo method, Type returnType, MaterializerRegistry materializers)
    {
        if (IsValueTuple(returnType))
        {
            var elementTypes = returnType.GetGenericArguments();
            var names = method.ReturnParameter.GetCustomAttribute<TupleElementNamesAttribute>()?.TransformNames;
            // The names of every tuple in the return type, in pre-order: the outermost tuple's come first, whether or not
            // it is wrapped in Task<> (which has no slot), and a nested tuple's names follow them.
            var outputs = elementTypes.Select((t, i) =>
            {
                var name = names is not null && i < names.Count ? names[i] : null;
                return new StepOutputDefinition(name is null ? $"output_{i}" : Naming.ToSnakeCase(name), t, $"Item{i + 1}");
            }).ToArray();
            return (OutputShape.Tuple, outputs);
        }
        // A record with a materializer of its own (not the JSON fallback) is one output, e.g. an ML.NET model with its schema.
        if (IsRecord(returnType) && materializers.Find(returnType) is null or JsonMaterializer)
        {
            var outputs = returnType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
                .Select(p => new StepOutputDefinition(Naming.ToSnakeCase(p.Name), p.PropertyType, p.Name))
                .ToArray();
            if (outputs.Length > 0)
                return (OutputShape.Record, outputs);
        }
        return (OutputShape.Single, [new StepOutputDefinition("output", returnType, null)]);
    }

    internal static bool IsValueTuple(Type t) =>
        t.IsGenericType && t.FullName!.StartsWith("System.ValueTuple`", StringComparison.Ordinal) && t.GetGenericArguments().Length is >= 2 and <= 7;

    /// <summary>C# records carry a compiler-generated <c>&lt;Clone&gt;$</c> method (classes) or a <c>PrintMembers</c> method (structs).</summary>
    internal static bool IsRecord(Type t) =>
        t.GetMethod("<Clone>$") is not null
        || (t.IsValueType && t.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null);

    /// <summary>Splits a return value into its named outputs.</summary>
    /// <remarks>An array, filled in a loop: a list or LINQ over these pairs has generic code every step process compiles afresh.</remarks>
    public (StepOutputDefinition Output, object? Value)[] Split(object? value)
    {
        var split = new (StepOutputDefinition Output, object? Value)[Outputs.Count];
        if (Shape != OutputShape.Single) ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < split.Length; i++)
            split[i] = (Outputs[i], Shape switch
            {
                OutputShape.Single => value,
                OutputShape.Tuple => ((ITuple)value!)[i],
                _ => ReturnType.GetProperty(Outputs[i].Member!)!.GetValue(value),
            });
        return split;
    }

    /// <summary>Rebuilds the whole return value from its named outputs (for a consumer that takes the tuple or record).</summary>
    public object? Assemble(IReadOnlyDictionary<string, object?> outputs)
    {
        switch (Shape)
        {
            case OutputShape.Single:
                return outputs[Outputs[0].Name];
            case OutputShape.Tuple:
                return Activator.CreateInstance(ReturnType, Outputs.Select(o => outputs[o.Name]).ToArray());
            default:
                // The public constructor taking the most outputs by name (a positional record's), then the remaining
                // outputs through their setters; a computed property (no setter) is not set: it follows from the rest.
                var ctor = ReturnType.GetConstructors()
                    .Where(c => c.GetParameters().All(p => Outputs.Any(o => string.Equals(o.Member, p.Name, StringComparison.OrdinalIgnoreCase))))
                    .OrderByDescending(c => c.GetParameters().Length)
                    .FirstOrDefault();
                var byCtor = new HashSet<string>();
                object instance;
                if (ctor is not null)
                {
                    var args = ctor.GetParameters()
                        .Select(p => Outputs.First(o => string.Equals(o.Member, p.Name, StringComparison.OrdinalIgnoreCase)))
                        .Select(o => { byCtor.Add(o.Name); return outputs[o.Name]; })
                        .ToArray();
                    instance = ctor.Invoke(args);
                }
                else
                    instance = Activator.CreateInstance(ReturnType) ?? throw new InvalidOperationException($"Cannot construct {ReturnType}.");
                foreach (var o in Outputs.Where(o => !byCtor.Contains(o.Name)))
                    if (ReturnType.GetProperty(o.Member!) is { CanWrite: true } property)
                        property.SetValue(instance, outputs[o.Name]);
                return instance;
        }
    }
}
