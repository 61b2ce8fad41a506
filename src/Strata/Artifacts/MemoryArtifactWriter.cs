using System.IO.Hashing;

namespace Strata.Artifacts;

/// <summary>
/// The files of an artifact held in memory, each hashed whole as it is closed, to be written to a store afterwards.
/// It takes up to a limit: a materializer that writes more overflows it, and <see cref="Overflowed"/> says so.
/// </summary>
internal sealed class MemoryArtifactWriter(long limit) : IArtifactWriter
{
    private readonly List<(string Name, MemoryStream Data)> _files = [];
    private readonly Lock _lock = new();
    private long _size;

    public ContentHasher Hasher { get; } = new();

    /// <summary>Whether a write went past the limit (the write threw; the content is incomplete).</summary>
    public bool Overflowed { get; private set; }

    public Stream CreateFile(string name)
    {
        var relative = ArtifactPath.Normalize(name);
        var data = new MemoryStream();
        lock (_lock) _files.Add((relative, data));
        return new LimitedStream(this, data, relative);
    }

    /// <summary>The held files, by name.</summary>
    public IReadOnlyList<(string Name, ReadOnlyMemory<byte> Content)> Files
    {
        get
        {
            // A loop, not LINQ: LINQ over this value tuple is compiled at run time, in every step process that saves.
            var files = new (string Name, ReadOnlyMemory<byte> Content)[_files.Count];
            for (var i = 0; i < files.Length; i++)
                files[i] = (_files[i].Name, new ReadOnlyMemory<byte>(_files[i].Data.GetBuffer(), 0, (int)_files[i].Data.Length));
            return files;
        }
    }

    /// <summary>Writes the held files through another writer (a store's).</summary>
    public async Task CopyToAsync(IArtifactWriter writer, CancellationToken cancellationToken)
    {
        foreach (var (name, content) in Files)
        {
            await using var file = writer.CreateFile(name);
            await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Take(int count)
    {
        if (Interlocked.Add(ref _size, count) <= limit) return;
        Overflowed = true;
        throw new ArtifactException($"The artifact is larger than the {limit} bytes kept in memory.");
    }

    /// <summary>A file held in memory. Hashed in one call once closed: the bytes are all there, and a streaming hash's state is
    /// the largest object a small artifact's write would make.</summary>
    private sealed class LimitedStream(MemoryArtifactWriter owner, MemoryStream data, string name) : Stream
    {
        private bool _closed;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => data.Length;
        public override long Position { get => data.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Take(buffer.Length);
            data.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void WriteByte(byte value) => Write([value]);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_closed)
            {
                _closed = true;
                owner.Hasher.Add(name, XxHash128.Hash(data.GetBuffer().AsSpan(0, (int)data.Length)), data.Length);
            }
            base.Dispose(disposing);
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
