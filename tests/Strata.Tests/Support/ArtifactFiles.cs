namespace Strata.Tests.Support;

/// <summary>Writing an artifact's files and reading one back, for the tests of artifact stores (use with <c>using static</c>).</summary>
public static class ArtifactFiles
{
    /// <summary>A write callback that creates each file with its bytes.</summary>
    public static Func<IArtifactWriter, CancellationToken, Task> Files(params (string Name, byte[] Content)[] files) => async (writer, ct) =>
    {
        foreach (var (name, content) in files)
        {
            await using var stream = writer.CreateFile(name);
            await stream.WriteAsync(content, ct);
        }
    };

    /// <summary>The bytes of one file of an artifact being read.</summary>
    public static async Task<byte[]> ReadAllAsync(IArtifactReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        await using var stream = reader.OpenFile(name);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
