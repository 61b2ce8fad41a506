namespace Strata.Artifacts;

/// <summary>
/// Turns values of some types into the files of an artifact and back.
/// </summary>
/// <remarks>
/// Implementers: <see cref="Name"/> is stored with every artifact and used to load it later, so never change it;
/// raise <see cref="Version"/> when the file format changes (it is part of the cache key).
/// <see cref="SaveAsync"/> must only write through the <see cref="IArtifactWriter"/> and dispose every stream it creates.
/// </remarks>
public abstract class Materializer
{
    /// <summary>A stable identifier, e.g. <c>strata.json</c> or <c>mycompany.parquet</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The format version. <value>Default: 1.</value></summary>
    public virtual int Version => 1;

    /// <summary>Whether this materializer can save and load values of <paramref name="type"/>.</summary>
    public abstract bool CanHandle(Type type);

    /// <summary>Writes a non-null value of <paramref name="type"/>.</summary>
    public abstract Task SaveAsync(object value, Type type, IArtifactWriter writer, CancellationToken cancellationToken);

    /// <summary>Reads a value of <paramref name="type"/> back.</summary>
    public abstract Task<object> LoadAsync(Type type, IArtifactReader reader, CancellationToken cancellationToken);

    /// <summary>
    /// Whether loading only opens files by name (no paths from <see cref="IArtifactReader.LocalDirectory"/>), so a store
    /// may keep an artifact of one such file as that file alone.
    /// </summary>
    internal virtual bool OpensFilesByName => false;
}

/// <summary>A materializer for exactly one type (and types assignable to it).</summary>
public abstract class Materializer<T> : Materializer where T : notnull
{
    public override bool CanHandle(Type type) => typeof(T).IsAssignableFrom(type) && type.IsAssignableTo(typeof(T));

    public sealed override Task SaveAsync(object value, Type type, IArtifactWriter writer, CancellationToken cancellationToken) =>
        SaveAsync((T)value, writer, cancellationToken);

    public sealed override async Task<object> LoadAsync(Type type, IArtifactReader reader, CancellationToken cancellationToken) =>
        await LoadAsync(reader, cancellationToken).ConfigureAwait(false);

    protected abstract Task SaveAsync(T value, IArtifactWriter writer, CancellationToken cancellationToken);

    protected abstract Task<T> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken);
}
