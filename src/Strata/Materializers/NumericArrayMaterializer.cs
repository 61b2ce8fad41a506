using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Strata.Artifacts;

/// <summary>
/// Arrays of numbers — <c>T[]</c>, <c>T[,]</c> and jagged <c>T[][]</c> of sbyte, byte, short, ushort, int, uint,
/// long, ulong, float, double or Half — as one binary file, <c>array.bin</c>, copied straight from and into the
/// array's memory: saving allocates nothing in proportion to the data, loading allocates only the array itself.
/// </summary>
/// <remarks>
/// Layout (all integers little-endian):
/// <code>
/// offset  size   field
/// 0       4      magic "STRA"
/// 4       2      format version (1)
/// 6       1      element type code (see Elements)
/// 7       1      shape: 1 = T[], 2 = T[,], 3 = T[][]
/// 8       8 × n  int64 dimensions — T[]: length; T[,]: rows, columns; T[][]: row count, then each row's length (-1 for a null row)
/// ...            the elements, little-endian, row after row
/// </code>
/// </remarks>
internal sealed class NumericArrayMaterializer : Materializer
{
    private const string FileName = "array.bin";
    private const ushort FormatVersion = 1;
    private const int ChunkSize = 16 << 20;

    /// <summary>From this size, a local file's elements are read on every processor at once.</summary>
    private const long ParallelReadBytes = 16 << 20;
    private static ReadOnlySpan<byte> Magic => "STRA"u8;

    private enum Shape : byte { Vector = 1, Matrix = 2, Jagged = 3 }

    // The codes are part of the file format: never renumber, only add.
    private static readonly Dictionary<Type, (byte Code, int Size)> Elements = new()
    {
        [typeof(sbyte)] = (1, 1),
        [typeof(byte)] = (2, 1),
        [typeof(short)] = (3, 2),
        [typeof(ushort)] = (4, 2),
        [typeof(int)] = (5, 4),
        [typeof(uint)] = (6, 4),
        [typeof(long)] = (7, 8),
        [typeof(ulong)] = (8, 8),
        [typeof(float)] = (9, 4),
        [typeof(double)] = (10, 8),
        [typeof(Half)] = (11, 2),
    };

    public override string Name => "strata.numeric_array";

    internal override bool OpensFilesByName => true;

    public override bool CanHandle(Type type) => ShapeOf(type) is not null;

    /// <summary>The shape and element type of a supported array type, or null.</summary>
    private static (Shape Shape, Type Element)? ShapeOf(Type type)
    {
        if (!type.IsArray) return null;
        var element = type.GetElementType()!;
        if (type.IsSZArray && Elements.ContainsKey(element)) return (Shape.Vector, element);
        if (!type.IsSZArray && type.GetArrayRank() == 2 && Elements.ContainsKey(element)) return (Shape.Matrix, element);
        if (type.IsSZArray && element.IsSZArray && Elements.ContainsKey(element.GetElementType()!)) return (Shape.Jagged, element.GetElementType()!);
        return null;
    }

    public override Task SaveAsync(object value, Type type, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        // Synchronous stream calls: a Span over the array's memory cannot cross an await.
        EnsureLittleEndian();
        var array = (Array)value;
        var (shape, element) = ShapeOf(array.GetType()) ?? throw new ArgumentException($"{TypeNames.Display(type)} is not a numeric array.", nameof(type));
        var (code, size) = Elements[element];
        using var stream = writer.CreateFile(FileName, FileLength(array, shape, size));

        Span<byte> prefix = stackalloc byte[8];
        Magic.CopyTo(prefix);
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[4..], FormatVersion);
        prefix[6] = code;
        prefix[7] = (byte)shape;
        stream.Write(prefix);

        switch (shape)
        {
            case Shape.Vector:
                WriteInt64s(stream, [array.LongLength]);
                WriteElements(stream, array, size, cancellationToken);
                break;
            case Shape.Matrix:
                WriteInt64s(stream, [array.GetLongLength(0), array.GetLongLength(1)]);
                WriteElements(stream, array, size, cancellationToken);
                break;
            case Shape.Jagged:
                var rows = (Array?[])array;
                WriteInt64s(stream, [rows.LongLength]);
                WriteInt64s(stream, rows.Select(r => r?.LongLength ?? -1).ToArray());
                foreach (var row in rows)
                    if (row is not null) WriteElements(stream, row, size, cancellationToken);
                break;
        }
        return Task.CompletedTask;
    }

    /// <summary>The file's length: the prefix, the dimensions (and a jagged array's row lengths), the elements.</summary>
    private static long FileLength(Array array, Shape shape, int size) => shape switch
    {
        Shape.Vector => 8 + 8 + array.LongLength * size,
        Shape.Matrix => 8 + 16 + array.LongLength * size,
        _ => 8 + 8 + 8 * array.LongLength + ((Array?[])array).Sum(row => (row?.LongLength ?? 0) * size),
    };

    public override Task<object> LoadAsync(Type type, IArtifactReader reader, CancellationToken cancellationToken)
    {
        EnsureLittleEndian();
        var (shape, element) = ShapeOf(type) ?? throw new ArgumentException($"{TypeNames.Display(type)} is not a numeric array.", nameof(type));
        var (code, size) = Elements[element];
        using var stream = reader.OpenFile(FileName);
        var where = $"{FileName} in {reader.LocalDirectory}";
        try
        {
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            if (!prefix[..4].SequenceEqual(Magic))
                throw new ArtifactException($"{where} is not a Strata numeric array (bad magic).");
            var version = BinaryPrimitives.ReadUInt16LittleEndian(prefix[4..]);
            if (version != FormatVersion)
                throw new ArtifactException($"{where} has format version {version}; this Strata reads version {FormatVersion}.");
            if (prefix[6] != code)
                throw new ArtifactException($"{where} holds elements of type code {prefix[6]}, not {TypeNames.Display(element)} (code {code}).");
            if (prefix[7] != (byte)shape)
                throw new ArtifactException($"{where} holds an array of shape {prefix[7]}, not {TypeNames.Display(type)} (shape {(byte)shape}).");

            var result = shape switch
            {
                Shape.Vector => ReadVector(stream, element, size, where, cancellationToken),
                Shape.Matrix => ReadMatrix(stream, element, size, where, cancellationToken),
                _ => ReadJagged(stream, element, size, where, cancellationToken),
            };
            if (stream.ReadByte() != -1)
                throw new ArtifactException($"{where} has bytes after the array's end.");
            return Task.FromResult<object>(result);
        }
        catch (EndOfStreamException e)
        {
            throw new ArtifactException($"{where} is truncated.", e);
        }
    }

    private static Array ReadVector(Stream stream, Type element, int size, string where, CancellationToken cancellationToken)
    {
        var length = ReadLength(stream, where);
        EnsureRemaining(stream, (Int128)length * size, where);
        var array = Array.CreateInstance(element, length);
        ReadElements(stream, array, size, cancellationToken);
        return array;
    }

    private static Array ReadMatrix(Stream stream, Type element, int size, string where, CancellationToken cancellationToken)
    {
        var rows = ReadLength(stream, where);
        var columns = ReadLength(stream, where);
        EnsureRemaining(stream, (Int128)rows * columns * size, where);
        var array = Array.CreateInstance(element, rows, columns);
        ReadElements(stream, array, size, cancellationToken);
        return array;
    }

    private static Array ReadJagged(Stream stream, Type element, int size, string where, CancellationToken cancellationToken)
    {
        var count = ReadLength(stream, where);
        EnsureRemaining(stream, (Int128)count * sizeof(long), where);
        var lengths = new long[count];
        stream.ReadExactly(MemoryMarshal.AsBytes(lengths.AsSpan()));
        Int128 total = 0;
        foreach (var length in lengths)
        {
            if (length < -1 || length > Array.MaxLength)
                throw new ArtifactException($"{where} has an invalid row length {length}.");
            total += Math.Max(length, 0) * (Int128)size;
        }
        EnsureRemaining(stream, total, where);

        var rows = Array.CreateInstance(element.MakeArrayType(), count);
        for (var i = 0; i < count; i++)
        {
            if (lengths[i] < 0) continue;
            var row = Array.CreateInstance(element, (int)lengths[i]);
            ReadElements(stream, row, size, cancellationToken);
            rows.SetValue(row, i);
        }
        return rows;
    }

    private static int ReadLength(Stream stream, string where)
    {
        Span<byte> buffer = stackalloc byte[8];
        stream.ReadExactly(buffer);
        var value = BinaryPrimitives.ReadInt64LittleEndian(buffer);
        if (value < 0 || value > Array.MaxLength)
            throw new ArtifactException($"{where} has an invalid dimension {value}.");
        return (int)value;
    }

    /// <summary>Refuses a header that promises more bytes than the file has, before allocating for it.</summary>
    private static void EnsureRemaining(Stream stream, Int128 needed, string where)
    {
        if (stream.CanSeek && needed > stream.Length - stream.Position)
            throw new ArtifactException($"{where} is truncated: its header promises {needed} more bytes but only {stream.Length - stream.Position} remain.");
    }

    private static void WriteInt64s(Stream stream, long[] values) => stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    private static void WriteElements(Stream stream, Array array, int size, CancellationToken cancellationToken)
    {
        ref var start = ref MemoryMarshal.GetArrayDataReference(array);
        var total = array.LongLength * size;
        for (long offset = 0; offset < total; offset += ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = (int)Math.Min(ChunkSize, total - offset);
            stream.Write(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref start, (nint)offset), length));
        }
    }

    private static unsafe void ReadElements(Stream stream, Array array, int size, CancellationToken cancellationToken)
    {
        ref var start = ref MemoryMarshal.GetArrayDataReference(array);
        var total = array.LongLength * size;
        var hashing = stream as HashingReadStream;
        if ((hashing?.Inner ?? stream) is FileStream { CanSeek: true } file && total >= ParallelReadBytes && Environment.ProcessorCount > 1)
        {
            fixed (byte* data = &start)
            {
                ReadInParallel(file, (nint)data, total, cancellationToken);
                // The pieces were read out of order; hash them in order now (from memory, many times faster than the read).
                for (long offset = 0; hashing is not null && offset < total; offset += ChunkSize)
                    hashing.Append(new ReadOnlySpan<byte>(data + offset, (int)Math.Min(ChunkSize, total - offset)));
            }
            return;
        }
        for (long offset = 0; offset < total; offset += ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = (int)Math.Min(ChunkSize, total - offset);
            stream.ReadExactly(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref start, (nint)offset), length));
        }
    }

    /// <summary>
    /// Reads <paramref name="total"/> bytes from the file's position into pinned memory, in one piece per processor at once.
    /// Reads of one file from the page cache do not queue behind each other, and the new array's pages are faulted in on
    /// every core, not one. Every piece has ended, read or failed, before this returns: the memory stays pinned until then.
    /// </summary>
    private static unsafe void ReadInParallel(FileStream file, nint data, long total, CancellationToken cancellationToken)
    {
        var handle = file.SafeFileHandle; // first: it drops the stream's read buffer, so Position is the file's true offset
        var origin = file.Position;
        var pieces = (int)Math.Min(Environment.ProcessorCount, (total + ChunkSize - 1) / ChunkSize);
        var perPiece = total / pieces;

        void ReadPiece(int piece)
        {
            var from = piece * perPiece;
            var to = piece == pieces - 1 ? total : from + perPiece;
            while (from < to)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var read = RandomAccess.Read(handle, new Span<byte>((byte*)data + from, (int)Math.Min(ChunkSize, to - from)), origin + from);
                if (read == 0) throw new EndOfStreamException();
                from += read;
            }
        }

        var others = Enumerable.Range(1, pieces - 1).Select(piece => Task.Run(() => ReadPiece(piece), CancellationToken.None)).ToArray();
        Exception? failure = null;
        try { ReadPiece(0); }
        catch (Exception e) { failure = e; }
        foreach (var other in others)
        {
            try { other.GetAwaiter().GetResult(); }
            catch (Exception e) { failure ??= e; }
        }
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        file.Position = origin + total;
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The numeric array format is little-endian; this machine is big-endian.");
    }
}
