using System.Collections;
using System.Text.Json;

namespace Strata.Artifacts;

/// <summary>Any type System.Text.Json can round-trip: records, classes, collections. One file, <c>value.json</c>.</summary>
internal sealed class JsonMaterializer : Materializer
{
    public override string Name => "strata.json";

    internal override bool OpensFilesByName => true;

    public override bool CanHandle(Type type)
    {
        if (type.IsPointer || type.IsByRef || type.IsByRefLike || type.ContainsGenericParameters) return false;
        if (typeof(Stream).IsAssignableFrom(type) || typeof(Delegate).IsAssignableFrom(type) || typeof(Task).IsAssignableFrom(type)) return false;
        if (type == typeof(object) || type == typeof(IntPtr) || type == typeof(UIntPtr) || typeof(Type).IsAssignableFrom(type)) return false;
        if (typeof(System.Reflection.MemberInfo).IsAssignableFrom(type) || typeof(IDisposable).IsAssignableFrom(type)) return false;
        if (type.IsInterface)
            return typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType;
        return !type.IsAbstract;
    }

    public override async Task SaveAsync(object value, Type type, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        await using var stream = writer.CreateFile("value.json");
        await JsonSerializer.SerializeAsync(stream, value, type, StrataJson.Options, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<object> LoadAsync(Type type, IArtifactReader reader, CancellationToken cancellationToken)
    {
        await using var stream = reader.OpenFile("value.json");
        return await JsonSerializer.DeserializeAsync(stream, type, StrataJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new ArtifactException($"value.json in {reader.LocalDirectory} holds null.");
    }
}
