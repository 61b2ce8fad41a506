using System.IO.Hashing;

namespace Strata.Artifacts;

/// <summary>
/// A reader that checks an artifact against the content hash recorded when it was written (see
/// <see cref="ArtifactStore.ReadArtifactAsync{T}"/>). Files read through <see cref="OpenFile"/> are hashed as they are
/// read; <see cref="CheckAsync"/> hashes the rest (files not read to their end in order, or read by path through
/// <see cref="LocalDirectory"/>) and compares the whole with the recorded hash.
/// </summary>
internal sealed class ContentCheckingReader(IArtifactReader inner, string uri, string contentHash) : IArtifactReader
{
    private readonly Dictionary<string, byte[]> _readWhole = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public IReadOnlyList<string> Files => inner.Files;

    public string LocalDirectory => inner.LocalDirectory;

    public Stream OpenFile(string name)
    {
        var relative = ArtifactPath.Normalize(name);
        return new HashingReadStream(inner.OpenFile(name), hash =>
        {
            lock (_lock) _readWhole[relative] = hash;
        });
    }

    /// <summary>Throws an <see cref="ArtifactException"/> naming the artifact when its files do not add up to the recorded hash.</summary>
    /// <param name="readFailure">Why reading failed, if it did: kept as the inner exception, since changed bytes often cause it.</param>
    /// <param name="cancellationToken">Stops hashing the files not read yet.</param>
    public async Task CheckAsync(Exception? readFailure, CancellationToken cancellationToken)
    {
        var hasher = new ContentHasher();
        foreach (var name in inner.Files)
        {
            byte[]? hash;
            lock (_lock) _readWhole.TryGetValue(name, out hash);
            hasher.Add(name, hash ?? await HashFileAsync(name, cancellationToken).ConfigureAwait(false), 0);
        }
        var actual = hasher.Result().Hash;
        if (actual != contentHash)
            throw new ArtifactException(
                $"Artifact {uri} does not match its recorded content hash (recorded {contentHash}, read {actual}): its files were changed or corrupted in " +
                "the store.",
                readFailure);
    }

    private async Task<byte[]> HashFileAsync(string name, CancellationToken cancellationToken)
    {
        var hash = new XxHash128();
        var file = inner.OpenFile(name);
        await using (file.ConfigureAwait(false))
            await hash.AppendAsync(file, cancellationToken).ConfigureAwait(false);
        return hash.GetCurrentHash();
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>
/// Hashes the bytes read through it, in order from the file's start, and reports the file's hash once it has been read
/// to its end. A seek elsewhere stops the hashing (the reader's check then hashes the file again).
/// </summary>
internal sealed class HashingReadStream(Stream inner, Action<byte[]> readWhole) : Stream
{
    private readonly XxHash128 _hash = new();
    private long _hashed;
    private bool _inOrder = true;
    private bool _reported;

    /// <summary>The stream read from, for a caller that reads a large file itself (see <see cref="Append"/>).</summary>
    public Stream Inner => inner;

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => Seek(value, SeekOrigin.Begin); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Hashed(buffer[..read], buffer.Length);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Hashed(buffer.Span[..read], buffer.Length);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <summary>Takes bytes the caller read from <see cref="Inner"/> itself, from this stream's position on, into the hash.</summary>
    public void Append(ReadOnlySpan<byte> data) => Hashed(data, 0);

    private void Hashed(ReadOnlySpan<byte> data, int requested)
    {
        if (!_inOrder || _reported) return;
        if (data.Length > 0)
        {
            _hash.Append(data);
            _hashed += data.Length;
        }
        else if (requested > 0)
        {
            Report(); // a read that returns nothing: the end of the file
        }
    }

    private void Report()
    {
        _reported = true;
        readWhole(_hash.GetCurrentHash());
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var position = inner.Seek(offset, origin);
        if (position != _hashed) _inOrder = false;
        return position;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Read exactly to its end, without the read that returns nothing.
            if (_inOrder && !_reported && inner.CanSeek && _hashed == inner.Length) Report();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
