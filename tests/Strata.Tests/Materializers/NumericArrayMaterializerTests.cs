using System.Buffers.Binary;

namespace Strata.Tests.Materializers;

public sealed class NumericArrayMaterializerTests : IDisposable
{
    private const string Name = "strata.numeric_array";
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    private async Task RoundTripVector<T>(params T[] values) where T : notnull
    {
        Assert.Equal(values, await _h.RoundTripAsync(values, Name));
        Assert.Empty(await _h.RoundTripAsync(Array.Empty<T>(), Name));
    }

    [Fact]
    public async Task Round_trips_vectors_of_every_element_type()
    {
        await RoundTripVector<sbyte>(sbyte.MinValue, -1, 0, sbyte.MaxValue);
        await RoundTripVector<short>(short.MinValue, -1, 0, short.MaxValue);
        await RoundTripVector<ushort>(0, 1, ushort.MaxValue);
        await RoundTripVector(int.MinValue, -1, 0, int.MaxValue);
        await RoundTripVector(0u, 1u, uint.MaxValue);
        await RoundTripVector(long.MinValue, -1L, 0L, long.MaxValue);
        await RoundTripVector(0UL, 1UL, ulong.MaxValue);
        await RoundTripVector(float.MinValue, float.Epsilon, float.NaN, float.NegativeInfinity, 0.1f);
        await RoundTripVector(double.MinValue, double.MaxValue, double.Epsilon, double.NaN, double.PositiveInfinity, -0.0, Math.E);
        await RoundTripVector(Half.MinValue, Half.MaxValue, Half.Epsilon, Half.NaN, (Half)0.5f);
    }

    [Fact]
    public async Task Keeps_exact_bits_of_doubles()
    {
        var values = new[] { -0.0, double.NaN, BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_1234) };

        var loaded = await _h.RoundTripAsync(values, Name);

        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), loaded.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public async Task Round_trips_sbyte_and_nested_byte_arrays_here_not_as_bytes()
    {
        Assert.Equal(new sbyte[] { -128, 127 }, await _h.RoundTripAsync(new sbyte[] { -128, 127 }, Name));
        Assert.Equal([[1, 2], [3]], await _h.RoundTripAsync(new byte[][] { [1, 2], [3] }, Name));
    }

    [Fact]
    public async Task Round_trips_a_2d_array_with_its_shape()
    {
        var matrix = new double[,] { { 1, 2, 3 }, { 4, double.NaN, -6.5 } };

        var loaded = await _h.RoundTripAsync(matrix, Name);

        Assert.Equal(2, loaded.GetLength(0));
        Assert.Equal(3, loaded.GetLength(1));
        Assert.Equal(matrix, loaded);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(5, 0)]
    [InlineData(0, 0)]
    public async Task Round_trips_empty_2d_arrays_with_their_shape(int rows, int columns)
    {
        var loaded = await _h.RoundTripAsync(new int[rows, columns], Name);

        Assert.Equal(rows, loaded.GetLength(0));
        Assert.Equal(columns, loaded.GetLength(1));
    }

    [Fact]
    public async Task Round_trips_a_jagged_array_with_empty_and_null_rows()
    {
        var jagged = new float[]?[] { [1, 2, 3], [], null, [float.NaN], [-0.5f, 1e30f] };

        var loaded = await _h.RoundTripAsync(jagged, Name);

        Assert.Equal(jagged.Length, loaded.Length);
        Assert.Null(loaded[2]);
        Assert.Equal(jagged, loaded);
        Assert.Empty(await _h.RoundTripAsync(Array.Empty<long[]>(), Name));
    }

    [Fact]
    public async Task Writes_the_documented_header_then_raw_little_endian_elements()
    {
        var (path, _) = await _h.SaveAsync(new[] { 1, -2 }, typeof(int[]));
        var bytes = await File.ReadAllBytesAsync(_h.FileOf(path, "array.bin"));

        Assert.Equal("STRA"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(5, bytes[6]); // int
        Assert.Equal(1, bytes[7]); // T[]
        Assert.Equal(2, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(-2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(24, bytes.Length);
    }

    [Fact]
    public async Task Copies_across_chunks_without_a_second_copy_of_the_data()
    {
        // 34 MiB and a bit: two full 16 MiB chunks and a partial one.
        var data = new double[(34 << 20) / sizeof(double) + 3];
        for (var i = 0; i < data.Length; i++) data[i] = i * 0.5 - 1000;
        var dataBytes = data.LongLength * sizeof(double);
        var materializer = _h.Registry.Get(typeof(double[]));

        // The materializer works synchronously, so all its allocations land on this thread.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var save = _h.Store.WriteArtifactAsync("big", (w, ct) => materializer.SaveAsync(data, typeof(double[]), w, ct));
        var saveAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(save.IsCompletedSuccessfully);
        Assert.Equal(dataBytes + 16, (await save).Size);

        await using var reader = await _h.Store.OpenArtifactAsync("big");
        before = GC.GetAllocatedBytesForCurrentThread();
        var load = materializer.LoadAsync(typeof(double[]), reader, CancellationToken.None);
        var loadAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(load.IsCompletedSuccessfully);

        Assert.Equal(data, (double[])await load);
        Assert.True(saveAllocated < dataBytes / 10, $"saving allocated {saveAllocated} bytes for {dataBytes} bytes of data");
        Assert.InRange(loadAllocated, dataBytes, dataBytes + dataBytes / 10); // the array itself, little more
    }

    [Fact]
    public async Task A_large_array_read_in_pieces_at_once_comes_back_whole_and_trailing_bytes_are_still_refused()
    {
        // 20 MiB and a bit, in an odd shape: read in one piece per processor, the last piece longer.
        var data = new float[1021, (20 << 20) / sizeof(float) / 1021 + 7];
        var i = 0;
        foreach (var (row, column) in Enumerable.Range(0, data.GetLength(0)).SelectMany(r => Enumerable.Range(0, data.GetLength(1)).Select(c => (r, c))))
            data[row, column] = i++ * 0.25f - 7;

        var (path, _) = await _h.SaveAsync(data, typeof(float[,]));
        var loaded = (float[,])await LoadAsync(path, typeof(float[,]));

        Assert.Equal(data.GetLength(0), loaded.GetLength(0));
        Assert.Equal(data.GetLength(1), loaded.GetLength(1));
        Assert.True(data.Cast<float>().SequenceEqual(loaded.Cast<float>()));
        await File.AppendAllTextAsync(_h.FileOf(path, "array.bin"), "x");
        var e = await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(float[,])));
        Assert.Contains("after the array's end", e.Message);
    }

    [Fact]
    public async Task A_large_file_takes_the_disk_space_of_its_bytes_and_no_more()
    {
        // Large enough to have its space reserved up front: the reservation must be the file's exact length.
        var matrix = new double[300, 1000];
        var jagged = new[] { new long[200_000], null, [], new long[70_000] };
        foreach (var (value, expectedLength) in new (Array, long)[]
        {
            (matrix, 8 + 16 + 300 * 1000 * 8),
            (jagged, 8 + 8 + 4 * 8 + 270_000 * 8),
        })
        {
            var (path, _) = await _h.SaveAsync(value, value.GetType());
            var file = _h.FileOf(path, "array.bin");

            Assert.Equal(expectedLength, new FileInfo(file).Length);
            var allocated = AllocatedBytes(file);
            Assert.True(allocated <= (expectedLength + 4095) / 4096 * 4096, $"{file} has {allocated} bytes allocated for {expectedLength}");
        }
    }

    /// <summary>The disk space a file takes (stat's block count, in 512-byte units).</summary>
    private static long AllocatedBytes(string file)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b", file]) { RedirectStandardOutput = true })!;
        var blocks = long.Parse(stat.StandardOutput.ReadToEnd().Trim(), System.Globalization.CultureInfo.InvariantCulture);
        stat.WaitForExit();
        return blocks * 512;
    }

    private async Task<(string Path, string File)> SavedIntsAsync(int[] values)
    {
        var (path, _) = await _h.SaveAsync(values, typeof(int[]));
        return (path, _h.FileOf(path, "array.bin"));
    }

    private Task<object> LoadAsync(string path, Type type) => _h.LoadAsync(path, Name, type);

    [Theory]
    [InlineData(0, (byte)'X')] // magic
    [InlineData(4, 2)] // format version
    [InlineData(7, 9)] // shape
    public async Task Refuses_a_corrupt_header(int offset, byte value)
    {
        var (path, file) = await SavedIntsAsync([1, 2, 3]);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[offset] = value;
        await File.WriteAllBytesAsync(file, bytes);

        await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(int[])));
    }

    [Theory]
    [InlineData(3)] // inside the magic
    [InlineData(12)] // inside the length
    [InlineData(27)] // one byte short of the last element
    public async Task Refuses_a_truncated_file(int length)
    {
        var (path, file) = await SavedIntsAsync([1, 2, 3]);
        var bytes = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, bytes[..length]);

        var e = await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(int[])));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public async Task Refuses_trailing_bytes()
    {
        var (path, file) = await SavedIntsAsync([1, 2, 3]);
        await File.AppendAllTextAsync(file, "x");

        await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(int[])));
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(-1)]
    [InlineData(1L << 40)]
    public async Task Refuses_an_impossible_length_without_allocating_it(long length)
    {
        var (path, file) = await SavedIntsAsync([1, 2, 3]);
        var bytes = await File.ReadAllBytesAsync(file);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), length);
        await File.WriteAllBytesAsync(file, bytes);

        await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(int[])));
    }

    [Fact]
    public async Task Refuses_a_bad_row_length_in_a_jagged_array()
    {
        var (path, _) = await _h.SaveAsync(new int[][] { [1], [2, 3] }, typeof(int[][]));
        var file = _h.FileOf(path, "array.bin");
        var bytes = await File.ReadAllBytesAsync(file);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), -5); // first row's length
        await File.WriteAllBytesAsync(file, bytes);

        await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, typeof(int[][])));
    }

    [Theory]
    [InlineData(typeof(float[]))]
    [InlineData(typeof(uint[]))]
    [InlineData(typeof(int[,]))]
    [InlineData(typeof(int[][]))]
    public async Task Refuses_to_load_as_another_element_type_or_shape(Type type)
    {
        var (path, _) = await SavedIntsAsync([1, 2, 3]);

        var e = await Assert.ThrowsAsync<ArtifactException>(() => LoadAsync(path, type));
        Assert.Contains("array.bin", e.Message);
    }
}
