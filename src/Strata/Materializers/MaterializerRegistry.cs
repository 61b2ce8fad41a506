using System.Collections.Concurrent;

namespace Strata.Artifacts;

/// <summary>
/// Picks the materializer for a type: those registered by the user first (latest wins), then the built-ins.
/// </summary>
/// <remarks>
/// Register custom materializers at application start-up, before running a pipeline, so that a step that runs
/// in another process (which starts the same application) finds them too.
/// </remarks>
public sealed class MaterializerRegistry
{
    private readonly List<Materializer> _custom = [];
    private readonly IReadOnlyList<Materializer> _builtIn;
    private readonly ConcurrentDictionary<Type, Materializer?> _byType = new();

    public MaterializerRegistry() : this(BuiltInMaterializers.All) { }

    internal MaterializerRegistry(IReadOnlyList<Materializer> builtIn) => _builtIn = builtIn;

    /// <summary>The registry used when none is given.</summary>
    public static MaterializerRegistry Default { get; } = new();

    /// <summary>Adds a materializer that takes precedence over every earlier one for the types it handles.</summary>
    public MaterializerRegistry Register(Materializer materializer)
    {
        ArgumentNullException.ThrowIfNull(materializer);
        lock (_custom)
        {
            _custom.Insert(0, materializer);
            _byType.Clear();
            Version++;
        }
        return this;
    }

    /// <summary>Changes whenever a materializer is registered, so derived decisions can be cached.</summary>
    internal int Version { get; private set; }

    public bool CanMaterialize(Type type) => Find(type) is not null;

    /// <summary>The materializer for a type, or null when none handles it.</summary>
    public Materializer? Find(Type type) => _byType.GetOrAdd(type, t =>
    {
        lock (_custom)
            return _custom.FirstOrDefault(m => m.CanHandle(t)) ?? _builtIn.FirstOrDefault(m => m.CanHandle(t));
    });

    /// <summary>The materializer for a type.</summary>
    /// <exception cref="StrataConfigException">No materializer handles the type.</exception>
    public Materializer Get(Type type) => Find(type)
        ?? throw new StrataConfigException($"No materializer handles {TypeNames.Display(type)}; register one with MaterializerRegistry.Register.");

    /// <summary>The materializer stored with an artifact, by its name.</summary>
    /// <exception cref="StrataConfigException">No registered materializer has that name.</exception>
    public Materializer GetByName(string name)
    {
        lock (_custom)
            return _custom.FirstOrDefault(m => m.Name == name) ?? _builtIn.FirstOrDefault(m => m.Name == name)
                ?? throw new StrataConfigException($"No materializer named '{name}' is registered; register it before loading this artifact.");
    }
}
