namespace Strata.Artifacts;

/// <summary>A <c>byte[]</c> as the raw file <c>data.bin</c>.</summary>
internal sealed class BytesMaterializer : Materializer<byte[]>
{
    private const string FileName = "data.bin";

    public override string Name => "strata.bytes";

    internal override bool OpensFilesByName => true;

    // Exactly byte[]: the runtime also lets sbyte[] pass as byte[], and that must not load back as byte[].
    public override bool CanHandle(Type type) => type == typeof(byte[]);

    protected override async Task SaveAsync(byte[] value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        await using var stream = writer.CreateFile(FileName);
        await stream.WriteAsync(value, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<byte[]> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        await using var stream = reader.OpenFile(FileName);
        if (stream.Length > Array.MaxLength)
            throw new ArtifactException($"{FileName} in {reader.LocalDirectory} is {stream.Length} bytes, more than a byte[] can hold.");
        var data = GC.AllocateUninitializedArray<byte>((int)stream.Length);
        await stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
        return data;
    }
}
