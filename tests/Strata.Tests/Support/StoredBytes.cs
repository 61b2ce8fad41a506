namespace Strata.Tests.Support;

/// <summary>What is on disk behind a local artifact store's back.</summary>
public static class StoredBytes
{
    /// <summary>
    /// Changes the stored bytes of a small artifact of a local store behind the store's back, as a stray edit or a failing
    /// disk would: <paramref name="change"/> gets them and returns as many. They are in its directory's pack, or its one file.
    /// </summary>
    public static Task ChangeAsync(string storeRoot, string uri, Func<byte[], byte[]> change)
    {
        var store = new LocalArtifactStore(storeRoot);
        var path = store.PathOf(uri);
        return store.PackedLocationOf(path) is { } packed
            ? ChangeAsync(packed.Segment, packed.Offset, packed.Length, change)
            : ChangeFileAsync(store.FullPathOf(path), change);
    }

    /// <summary>Changes a whole file's bytes in place, as <see cref="ChangeAsync(string, string, Func{byte[], byte[]})"/> does.</summary>
    public static Task ChangeFileAsync(string file, Func<byte[], byte[]> change) => ChangeAsync(file, 0, (int)new FileInfo(file).Length, change);

    private static async Task ChangeAsync(string file, long offset, int length, Func<byte[], byte[]> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        await using var stream = File.Open(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var bytes = new byte[length];
        stream.Position = offset;
        await stream.ReadExactlyAsync(bytes);
        var changed = change(bytes);
        if (changed.Length != length) throw new ArgumentException("The change must keep the length.", nameof(change));
        stream.Position = offset;
        await stream.WriteAsync(changed);
    }
}
