using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace Strata.Artifacts;

/// <summary>
/// Hashes the files of an artifact: XxHash128 per file, then over the sorted (name, file hash) pairs.
/// Non-cryptographic on purpose: it identifies content for caching and verification at memory speed.
/// </summary>
public sealed class ContentHasher
{
    // A dictionary of reference types and a sort at the end: the framework's precompiled code covers them, where a
    // sorted dictionary of value tuples would be compiled in every step process that saves an artifact.
    private readonly Dictionary<string, HashedFile> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public const string Prefix = "xxh128:";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    public void Add(string name, byte[] hash, long size)
    {
        lock (_lock) _files[name] = new HashedFile(name, hash, size);
    }

    /// <summary>The file hashes added so far, sorted by name (object stores keep each file's hash beside it).</summary>
    public IReadOnlyList<HashedFile> Files()
    {
        HashedFile[] files;
        lock (_lock) files = [.. _files.Values];
        Array.Sort(files, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    /// <summary>The text form of one file's hash, as <see cref="HashBytes"/> writes it.</summary>
    public static string Format(ReadOnlySpan<byte> hash) => Hex.Lower(hash, Prefix);

    public ArtifactContent Result() => Combine(Files());

    /// <summary>The content hash and size of an artifact of these files, sorted by name (<see cref="Files"/>).</summary>
    public static ArtifactContent Combine(IReadOnlyList<HashedFile> files)
    {
        // Hashed at once rather than appended to a streaming hash: the same bytes, the same hash, and no hash state to allocate.
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        long size = 0;
        foreach (var file in files)
        {
            Encoding.UTF8.GetBytes(file.Name, buffer);
            buffer.Write([(byte)0]);
            buffer.Write(file.Hash);
            size += file.Size;
        }
        return new ArtifactContent(Hex.Lower(XxHash128.Hash(buffer.WrittenSpan), Prefix), size);
    }

    public static string HashBytes(ReadOnlySpan<byte> data) => Hex.Lower(XxHash128.Hash(data), Prefix);
}

/// <summary>One file of an artifact: its name, XxHash128 and size.</summary>
public sealed record HashedFile(string Name, byte[] Hash, long Size);

/// <summary>A write-only stream that hashes and counts what passes through it, and reports when disposed.</summary>
/// <remarks>
/// A large write is hashed on another thread while it is written, so the hash's computing time is hidden behind the write.
/// With <paramref name="writeAsyncInline"/>, asynchronous calls write synchronously: for a local file, the asynchronous
/// form would only move the same blocking write to the thread pool and back.
/// </remarks>
internal sealed class HashingWriteStream(Stream inner, string name, ContentHasher hasher, bool writeAsyncInline = false) : Stream
{
    private const int HashAlongside = 1 << 20;

    private readonly XxHash128 _hash = new();
    private long _length;
    private bool _disposed;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length >= HashAlongside) WriteHashingAlongside(buffer);
        else
        {
            _hash.Append(buffer);
            inner.Write(buffer);
        }
        _length += buffer.Length;
    }

    private unsafe void WriteHashingAlongside(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var (address, length) = ((nint)start, buffer.Length);
            var hashing = Task.Run(() => _hash.Append(new ReadOnlySpan<byte>((void*)address, length)));
            try
            {
                inner.Write(buffer);
            }
            finally
            {
                hashing.GetAwaiter().GetResult(); // the buffer stays pinned until the hash is done with it
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!writeAsyncInline) return WriteAsyncCore(buffer, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    private async ValueTask WriteAsyncCore(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length >= HashAlongside)
        {
            var hashing = Task.Run(() => _hash.Append(buffer.Span), CancellationToken.None);
            try
            {
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await hashing.ConfigureAwait(false);
            }
        }
        else
        {
            _hash.Append(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        _length += buffer.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!writeAsyncInline) return inner.FlushAsync(cancellationToken);
        inner.Flush();
        return Task.CompletedTask;
    }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            inner.Dispose();
            hasher.Add(name, _hash.GetCurrentHash(), _length);
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        if (!writeAsyncInline) return DisposeAsyncCore();
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask DisposeAsyncCore()
    {
        if (!_disposed)
        {
            _disposed = true;
            await inner.DisposeAsync().ConfigureAwait(false);
            hasher.Add(name, _hash.GetCurrentHash(), _length);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
