using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Strata.Artifacts;

namespace Strata.Bench;

/// <summary>
/// P4 child tasks. Each runs in its own process so its peak working set is its own: Strata save, Strata load,
/// raw FileStream write, raw FileStream read, of 1 GiB as <c>float[]</c> or <c>double[,]</c>. Each first does the same
/// with 8 MiB, untimed, so neither side's figure holds the one-off cost of compiling its code. Writes are timed
/// <see cref="WriteAttempts"/> times and the best is kept, on both sides.
/// </summary>
internal static class ArtifactThroughput
{
    public const long DataBytes = 1L << 30;
    private const int Chunk = 16 << 20; // the raw baseline writes and reads in 16 MiB pieces, as the materializer does
    private const int Columns = 8192;

    /// <summary>1 GiB of data: <c>float[2^28]</c> or <c>double[16384, 8192]</c>, filled with a checkable pattern.</summary>
    private static Array Create(string kind, bool fill)
    {
        Array array = kind switch
        {
            "float1d" => new float[DataBytes / sizeof(float)],
            "double2d" => new double[DataBytes / sizeof(double) / Columns, Columns],
            _ => throw new ArgumentException($"unknown kind '{kind}'", nameof(kind)),
        };
        if (fill)
        {
            if (array is float[] f)
                for (var i = 0; i < f.Length; i++) f[i] = i & 0xFFFFF;
            else
            {
                var d = Doubles(array);
                for (var i = 0; i < d.Length; i++) d[i] = i;
            }
        }
        return array;
    }

    private static Span<double> Doubles(Array matrix) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(matrix)), (int)(DataBytes / sizeof(double)));

    private static Span<byte> Bytes(Array array, long offset, int length) =>
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), (nint)offset), length);

    private static void Verify(Array array)
    {
        if (array is float[] f)
        {
            for (var i = 0; i < f.Length; i++)
                if (f[i] != (i & 0xFFFFF)) throw new InvalidOperationException($"element {i} is {f[i]}");
        }
        else
        {
            if (array.GetLength(1) != Columns) throw new InvalidOperationException($"{array.GetLength(1)} columns");
            var d = Doubles(array);
            for (var i = 0; i < d.Length; i++)
                if (d[i] != i) throw new InvalidOperationException($"element {i} is {d[i]}");
        }
    }

    private static Type TypeOf(string kind) => kind == "float1d" ? typeof(float[]) : typeof(double[,]);

    private static Array Small(string kind) => kind == "float1d" ? new float[2 << 20] : new double[128, Columns];

    private static async Task WarmUpStoreAsync(LocalArtifactStore store, Materializer materializer, string kind, string path)
    {
        var small = Small(kind);
        var content = await store.WriteArtifactAsync(path, (writer, ct) => materializer.SaveAsync(small, TypeOf(kind), writer, ct));
        await store.ReadArtifactAsync(path, content.Hash, (reader, ct) => materializer.LoadAsync(TypeOf(kind), reader, ct));
        await store.DeleteAsync(path);
    }

    private static void WarmUpRaw(string kind, string file)
    {
        var small = Small(kind);
        var bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(small), small.Length * (kind == "float1d" ? sizeof(float) : sizeof(double)));
        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            stream.Write(bytes);
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            stream.ReadExactly(bytes);
        File.Delete(file);
    }

    private static long WorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }

    /// <summary>
    /// How many times each write is timed, in one process, the best kept. A 1 GiB write to the page cache of this shared
    /// machine varies severalfold from one moment to the next (writeback, the host); the best of a few is the write's
    /// own cost, for both sides alike.
    /// </summary>
    public const int WriteAttempts = 5;

    /// <summary>Times <paramref name="write"/> <see cref="WriteAttempts"/> times after a sync each, deleting what each wrote but the last.</summary>
    private static async Task<double[]> TimeWritesAsync(Func<int, Task> write, Action<int> delete)
    {
        var seconds = new double[WriteAttempts];
        for (var attempt = 0; attempt < WriteAttempts; attempt++)
        {
            await Exec.SyncAsync();
            var clock = Stopwatch.StartNew();
            await write(attempt);
            seconds[attempt] = clock.Elapsed.TotalSeconds;
            if (attempt < WriteAttempts - 1) delete(attempt);
        }
        return seconds;
    }

    private static string Attempt(string path, int attempt) => attempt == WriteAttempts - 1 ? path : $"{path}-try{attempt}";

    /// <summary>Saves the data through the local artifact store and its materializer (what a step output goes through).</summary>
    public static async Task SaveAsync(Dictionary<string, string> args)
    {
        var kind = args["kind"];
        var idle = WorkingSet();
        var data = Create(kind, fill: true);
        var store = new LocalArtifactStore(args["root"]);
        var materializer = MaterializerRegistry.Default.Get(TypeOf(kind));
        await WarmUpStoreAsync(store, materializer, kind, args["path"] + "-warmup");
        ArtifactContent? content = null;
        var seconds = await TimeWritesAsync(
            async attempt => content = await store.WriteArtifactAsync(Attempt(args["path"], attempt), (writer, ct) => materializer.SaveAsync(data, TypeOf(kind), writer, ct)),
            attempt => store.DeleteAsync(Attempt(args["path"], attempt)).GetAwaiter().GetResult());
        GC.KeepAlive(data);
        Child.Finish(args, new JsonObject
        {
            ["seconds"] = seconds.Min(), ["attempts_s"] = Stats.Array(seconds), ["bytes"] = DataBytes, ["file_bytes"] = content!.Size, ["hash"] = content.Hash, ["idle_working_set_bytes"] = idle,
            ["materializer"] = materializer.Name,
        });
    }

    /// <summary>Loads it back through the store and the materializer, checked against the content hash the save recorded, as a step's input is.</summary>
    public static async Task LoadAsync(Dictionary<string, string> args)
    {
        var kind = args["kind"];
        var idle = WorkingSet();
        var store = new LocalArtifactStore(args["root"]);
        var materializer = MaterializerRegistry.Default.Get(TypeOf(kind));
        await WarmUpStoreAsync(store, materializer, kind, args["path"] + "-warmup");
        var clock = Stopwatch.StartNew();
        var data = (Array)await store.ReadArtifactAsync(args["path"], args["hash"], (reader, ct) => materializer.LoadAsync(TypeOf(kind), reader, ct));
        var seconds = clock.Elapsed.TotalSeconds;
        Verify(data);
        Child.Finish(args, new JsonObject { ["seconds"] = seconds, ["bytes"] = DataBytes, ["idle_working_set_bytes"] = idle });
    }

    /// <summary>The baseline write: the same bytes through a plain FileStream to a file on the same disk.</summary>
    public static async Task RawWriteAsync(Dictionary<string, string> args)
    {
        var idle = WorkingSet();
        var data = Create(args["kind"], fill: true);
        WarmUpRaw(args["kind"], args["file"] + ".warmup");
        var seconds = await TimeWritesAsync(attempt =>
        {
            using (var file = new FileStream(Attempt(args["file"], attempt), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                for (long offset = 0; offset < DataBytes; offset += Chunk)
                    file.Write(Bytes(data, offset, (int)Math.Min(Chunk, DataBytes - offset)));
            return Task.CompletedTask;
        }, attempt => File.Delete(Attempt(args["file"], attempt)));
        GC.KeepAlive(data);
        Child.Finish(args, new JsonObject { ["seconds"] = seconds.Min(), ["attempts_s"] = Stats.Array(seconds), ["bytes"] = DataBytes, ["idle_working_set_bytes"] = idle });
    }

    /// <summary>The baseline read: allocate the array and fill it from the file with a plain FileStream.</summary>
    public static Task RawReadAsync(Dictionary<string, string> args)
    {
        var idle = WorkingSet();
        WarmUpRaw(args["kind"], args["file"] + ".warmup");
        var clock = Stopwatch.StartNew();
        var data = Create(args["kind"], fill: false);
        using (var file = new FileStream(args["file"], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            for (long offset = 0; offset < DataBytes; offset += Chunk)
                file.ReadExactly(Bytes(data, offset, (int)Math.Min(Chunk, DataBytes - offset)));
        var seconds = clock.Elapsed.TotalSeconds;
        Verify(data);
        Child.Finish(args, new JsonObject { ["seconds"] = seconds, ["bytes"] = DataBytes, ["idle_working_set_bytes"] = idle });
        return Task.CompletedTask;
    }
}
