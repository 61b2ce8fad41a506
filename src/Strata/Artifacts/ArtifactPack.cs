using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Strata.Artifacts;

/// <summary>
/// The small one-file artifacts of one directory of a <see cref="LocalArtifactStore"/>, packed into append-only segment
/// files in that directory (<c>.pack-&lt;id&gt;</c>) rather than kept as a file each: a record appended to an open
/// segment is one write, where a file of its own is a create, a write and a rename, and a directory entry to keep.
/// </summary>
/// <remarks>
/// <para>Each store object appends to segments of its own, so no two writers ever share a file. A record is written with
/// one call at its segment's end, its lengths first: a crash can only leave a torn last record, shorter than its lengths
/// say, which reads as absent. A segment whose write failed is not written again. Bytes changed in place are not caught
/// here: every artifact read is checked against its recorded content hash, which words the change.</para>
/// <para>The later of two records of one name wins; a delete is a record too. The records a store wrote are indexed as it
/// writes them; the other segments of the directory are read when a name is not found.</para>
/// </remarks>
internal sealed class ArtifactPack(string directory, ArtifactPack.HandleBudget handles)
{
    public const string SegmentPrefix = ".pack-";

    /// <summary>Contents larger than this are kept as files: the first lookup in a directory reads every packed byte.</summary>
    public const int MaxContentBytes = 64 * 1024;

    private const uint Magic = 0x314B5053; // "SPK1"
    // magic u32, kind u8, reserved u8, name length u16, content length i32, ticks i64
    private const int HeaderBytes = 20;
    private const byte ValueKind = 1;
    private const byte DeletedKind = 2;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Segment> _segments = new(StringComparer.Ordinal);
    private Segment? _own;

    public string Directory => directory;

    /// <summary>Appends <paramref name="content"/> as the artifact file <paramref name="name"/> of this directory.</summary>
    public void Write(string name, ReadOnlySpan<byte> content) => Append(name, ValueKind, content);

    /// <summary>Records that <paramref name="name"/> is gone, when a live record of it is known.</summary>
    /// <returns>Whether there was one.</returns>
    public bool Delete(string name)
    {
        if (!Contains(name)) return false;
        Append(name, DeletedKind, []);
        return true;
    }

    /// <summary>Whether a live record of <paramref name="name"/> is in the directory's segments.</summary>
    public bool Contains(string name) => Find(name) is not null;

    /// <summary>The content of <paramref name="name"/>, or null when no live record of it is in the directory's segments.</summary>
    public byte[]? Read(string name)
    {
        if (Find(name) is not { } entry) return null;
        var content = new byte[entry.Length];
        lock (_lock) ReadLocked(name, entry, content);
        handles.Trim();
        return content;
    }

    /// <summary>Reads <paramref name="entry"/>'s bytes and any after them into <paramref name="into"/>; throws when its own bytes are not all there.</summary>
    private int ReadLocked(string name, Entry entry, Span<byte> into)
    {
        var read = RandomAccess.Read(OpenLocked(entry.Segment), into, entry.Offset);
        if (read < entry.Length)
            throw new ArtifactException($"Packed artifact '{name}' in {entry.Segment.Path} ends early: the segment was cut short.");
        return read;
    }

    /// <summary>
    /// As <see cref="Read(string)"/>, through <paramref name="ahead"/>: one read takes the records that follow this one too (up to
    /// <see cref="ReadAhead.Bytes"/>, and only whole records this pack knows of), so a reader going through a run's records in
    /// order, as a cached rerun verifying its hits does, makes one read for hundreds of them instead of a read each.
    /// </summary>
    public byte[]? Read(string name, ReadAhead ahead)
    {
        if (Find(name) is not { } entry) return null;
        var content = new byte[entry.Length];
        lock (ahead)
        {
            if (!ahead.Holds(entry.Segment, entry.Offset, entry.Length))
            {
                // The segment's end is where the records known to be whole end: bytes after it may be a record still being written.
                var length = (int)Math.Clamp(entry.Segment.End - entry.Offset, entry.Length, ReadAhead.Bytes);
                int read;
                lock (_lock) read = ReadLocked(name, entry, ahead.Buffer.AsSpan(0, length));
                ahead.Hold(entry.Segment, entry.Offset, read);
            }
            ahead.Buffer.AsSpan((int)(entry.Offset - ahead.Start), entry.Length).CopyTo(content);
        }
        handles.Trim();
        return content;
    }

    /// <summary>
    /// Bytes of one segment read ahead for one reader (a store object, made for one run). They are used for a second at
    /// most: a record changed on disk later than that is read again, and fails its content check then.
    /// </summary>
    internal sealed class ReadAhead
    {
        public const int Bytes = 64 * 1024;
        private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
        private Segment? _segment;
        private int _length;
        private long _readAt;
        private byte[]? _buffer;

        // Made at the first read: every store object has a read-ahead, and most never verify a packed artifact.
        public byte[] Buffer => _buffer ??= new byte[Math.Max(Bytes, MaxContentBytes)];

        public long Start { get; private set; }

        public bool Holds(Segment segment, long offset, int length) =>
            segment == _segment && offset >= Start && offset + length <= Start + _length
            && TimeProvider.System.GetElapsedTime(_readAt) < MaxAge;

        public void Hold(Segment segment, long start, int length)
        {
            (_segment, Start, _length, _readAt) = (segment, start, length, TimeProvider.System.GetTimestamp());
        }
    }

    /// <summary>Where the bytes of <paramref name="name"/> are: the segment's path, their offset and length.</summary>
    public (string Segment, long Offset, int Length)? Locate(string name) =>
        Find(name) is { } entry ? (entry.Segment.Path, entry.Offset, entry.Length) : null;

    private Entry? Find(string name)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(name, out var entry)) return entry.Deleted ? null : entry;
            if (!_refreshed && _searches < SearchesBeforeIndexing)
            {
                _searches++;
                if (SearchLocked(name) is not { } found) return null;
                Index(name, found);
                return found.Deleted ? null : found;
            }
            RefreshLocked();
            return _entries.TryGetValue(name, out entry) && !entry.Deleted ? entry : null;
        }
    }

    /// <summary>
    /// How many names a pack looks for in the other segments' bytes before it indexes them all. A step process reads its
    /// few inputs: in the directory of a large run, indexing every name would cost it far more than finding those.
    /// </summary>
    private const int SearchesBeforeIndexing = 8;

    private int _searches;
    private bool _refreshed;

    /// <summary>The latest record of <paramref name="name"/> in the segments this pack has not indexed yet, found by its bytes.</summary>
    private Entry? SearchLocked(string name)
    {
        var target = Encoding.UTF8.GetBytes(name);
        Entry? latest = null;
        foreach (var segment in OtherSegmentsLocked())
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(segment.Path);
            }
            catch (FileNotFoundException)
            {
                continue; // removed meanwhile (strata gc)
            }
            ReadRecords(bytes, segment, 0, (found, entry) =>
            {
                if (found.SequenceEqual(target) && (latest is not { } known || known.Ticks <= entry.Ticks)) latest = entry;
            });
        }
        return latest;
    }

    /// <summary>The directory's segments other than this pack's own, each known from then on.</summary>
    private List<Segment> OtherSegmentsLocked()
    {
        string[] files;
        try
        {
            files = System.IO.Directory.GetFiles(directory, SegmentPrefix + "*");
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        var others = new List<Segment>(files.Length);
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            if (!_segments.TryGetValue(name, out var segment)) _segments.Add(name, segment = new Segment(file, own: false));
            if (!segment.Own) others.Add(segment); // its own records are indexed as written
        }
        return others;
    }

    private void Append(string name, byte kind, ReadOnlySpan<byte> content)
    {
        var nameLength = Encoding.UTF8.GetByteCount(name);
        if (nameLength > ushort.MaxValue) throw new ArtifactException($"Artifact name '{name}' is too long to pack.");
        var ticks = TimeProvider.System.GetUtcNow().UtcTicks;
        var record = new byte[HeaderBytes + nameLength + content.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, Magic);
        record[4] = kind;
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(6), (ushort)nameLength);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), content.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(12), ticks);
        Encoding.UTF8.GetBytes(name, record.AsSpan(HeaderBytes));
        content.CopyTo(record.AsSpan(HeaderBytes + nameLength));
        lock (_lock)
        {
            var own = _own ??= NewSegmentLocked();
            try
            {
                RandomAccess.Write(OpenLocked(own), record, own.End);
            }
            catch
            {
                // Part of the record may be on disk: nothing more goes after it, so a reader stops there as it would after a crash.
                _own = null;
                throw;
            }
            var at = own.End;
            own.End += record.Length;
            Index(name, new Entry(own, at + HeaderBytes + nameLength, content.Length, ticks, kind == DeletedKind));
        }
        handles.Trim();
    }

    private Segment NewSegmentLocked()
    {
        var segment = new Segment(Path.Combine(directory, SegmentPrefix + Ids.NewHex()), own: true);
        segment.Handle = File.OpenHandle(segment.Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        handles.Opened(this, segment);
        _segments.Add(Path.GetFileName(segment.Path), segment);
        return segment;
    }

    private SafeFileHandle OpenLocked(Segment segment)
    {
        if (segment.Handle is { IsClosed: false } open) return open;
        segment.Handle = File.OpenHandle(segment.Path, FileMode.Open, segment.Own ? FileAccess.ReadWrite : FileAccess.Read,
            FileShare.ReadWrite | FileShare.Delete);
        handles.Opened(this, segment);
        return segment.Handle;
    }

    /// <summary>Closes a segment's handle; the next use opens it again.</summary>
    private void Close(Segment segment)
    {
        lock (_lock) segment.CloseHandle();
    }

    /// <summary>
    /// Forgets the segments that are gone from the directory (removed by <c>strata gc</c>, or the store wiped) and what
    /// they held. A store object asks this once per directory: a run sees what was removed before it began.
    /// </summary>
    public void ForgetRemovedSegments()
    {
        lock (_lock)
        {
            // Loops over the values (references), not LINQ over the pairs (structs, whose generic code each process compiles).
            List<Segment>? gone = null;
            foreach (var segment in _segments.Values)
                if (!File.Exists(segment.Path)) (gone ??= []).Add(segment);
            if (gone is null) return;
            foreach (var segment in gone)
            {
                _segments.Remove(Path.GetFileName(segment.Path));
                segment.CloseHandle();
                if (segment == _own) _own = null;
            }
            var removed = gone.ToHashSet();
            foreach (var name in _entries.Where(e => removed.Contains(e.Value.Segment)).Select(e => e.Key).ToArray()) _entries.Remove(name);
        }
    }

    /// <summary>Closes every handle this pack holds, once it is no longer kept (see <see cref="ArtifactPacks"/>).</summary>
    public void CloseAll()
    {
        lock (_lock)
            foreach (var segment in _segments.Values) segment.CloseHandle();
    }

    /// <summary>Reads what the other segments of the directory gained since they were last read.</summary>
    private void RefreshLocked()
    {
        _refreshed = true;
        foreach (var segment in OtherSegmentsLocked())
        {
            try
            {
                ReadNewRecordsLocked(segment);
            }
            catch (FileNotFoundException)
            {
                _segments.Remove(Path.GetFileName(segment.Path)); // removed meanwhile (strata gc)
            }
        }
    }

    private void ReadNewRecordsLocked(Segment segment)
    {
        // A directory may hold a segment per step process: they are read through handles of their own, closed again, so
        // a scan never holds more than one open.
        var kept = segment.Handle is { IsClosed: false } open ? open : null;
        var handle = kept ?? File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            var length = RandomAccess.GetLength(handle);
            if (length <= segment.End) return;
            // Not zeroed first: a run of 100,000 steps leaves megabytes here, all of which are read over.
            var bytes = GC.AllocateUninitializedArray<byte>(checked((int)(length - segment.End)));
            var read = RandomAccess.Read(handle, bytes, segment.End);
            _entries.EnsureCapacity(_entries.Count + read / 48); // a record of a small value takes about 50 bytes
            segment.End += ReadRecords(bytes.AsSpan(0, read), segment, segment.End, (name, entry) => Index(Encoding.UTF8.GetString(name), entry));
        }
        finally
        {
            if (kept is null) handle.Dispose();
        }
    }

    private void Index(string name, Entry entry)
    {
        ref var known = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_entries, name, out var exists);
        if (!exists || known.Ticks <= entry.Ticks) known = entry;
    }

    /// <summary>A whole record: its name's bytes, and where its content is.</summary>
    private delegate void RecordFound(ReadOnlySpan<byte> name, Entry entry);

    /// <summary>
    /// Hands each whole record in <paramref name="bytes"/> (read from <paramref name="start"/> in the segment) to
    /// <paramref name="found"/>; a torn one ends them. Returns how many bytes the whole ones take.
    /// </summary>
    private static int ReadRecords(ReadOnlySpan<byte> bytes, Segment segment, long start, RecordFound found)
    {
        var at = 0;
        while (bytes.Length - at >= HeaderBytes)
        {
            var header = bytes.Slice(at, HeaderBytes);
            var kind = header[4];
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
            var contentLength = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || kind is not (ValueKind or DeletedKind)
                || contentLength is < 0 or > MaxContentBytes || bytes.Length - at - HeaderBytes < nameLength + contentLength)
                break;
            var ticks = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
            found(bytes.Slice(at + HeaderBytes, nameLength),
                new Entry(segment, start + at + HeaderBytes + nameLength, contentLength, ticks, kind == DeletedKind));
            at += HeaderBytes + nameLength + contentLength;
        }
        return at;
    }

    /// <summary>The names of the live artifacts a segment file holds (its later records win), for <c>strata gc</c>.</summary>
    public static IReadOnlyList<string> NamesIn(string segmentPath)
    {
        var live = new Dictionary<string, bool>(StringComparer.Ordinal);
        ReadRecords(File.ReadAllBytes(segmentPath), new Segment(segmentPath, own: false), 0,
            (name, entry) => live[Encoding.UTF8.GetString(name)] = !entry.Deleted);
        return live.Where(p => p.Value).Select(p => p.Key).ToArray();
    }

    private readonly record struct Entry(Segment Segment, long Offset, int Length, long Ticks, bool Deleted);

    internal sealed class Segment(string path, bool own)
    {
        public string Path { get; } = path;

        /// <summary>Whether this store writes it.</summary>
        public bool Own { get; } = own;

        /// <summary>Where the next record goes (own), or how far its records have been read (another writer's).</summary>
        public long End { get; set; }

        public SafeFileHandle? Handle { get; set; }

        /// <summary>Closes the handle, if open; the next use opens the segment again.</summary>
        public void CloseHandle()
        {
            Handle?.Dispose();
            Handle = null;
        }
    }

    /// <summary>
    /// Keeps a store's open segment handles few: a run of many step processes leaves a segment each in its directory, and
    /// a long-lived process goes through many runs. The handles opened longest ago are closed first.
    /// </summary>
    internal sealed class HandleBudget(int max)
    {
        // Of a class, not a tuple: a queue of structs has generic code every process compiles afresh.
        private readonly ConcurrentQueue<Opening> _opened = new();

        private sealed record Opening(ArtifactPack Pack, Segment Segment);

        public void Opened(ArtifactPack pack, Segment segment) => _opened.Enqueue(new Opening(pack, segment));

        /// <summary>Closes the oldest handles beyond the budget. Called with no pack's lock held.</summary>
        public void Trim()
        {
            while (_opened.Count > max && _opened.TryDequeue(out var oldest)) oldest.Pack.Close(oldest.Segment);
        }
    }
}

/// <summary>
/// The packs of one store root in this process. Every <see cref="LocalArtifactStore"/> over the root shares them (a run
/// makes a store object of its own, and a process may make many runs), so the directories and handles kept stay few:
/// the packs of the latest 64 directories, and 32 open segments.
/// </summary>
internal sealed class ArtifactPacks
{
    private const int MaxDirectories = 64;
    private static readonly ConcurrentDictionary<string, ArtifactPacks> ByRoot = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ArtifactPack> _packs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ArtifactPack> _added = new();
    private readonly ArtifactPack.HandleBudget _handles = new(32);

    /// <summary>The packs every store object over <paramref name="root"/> in this process shares.</summary>
    public static ArtifactPacks Of(string root) => ByRoot.GetOrAdd(root, _ => new ArtifactPacks());

    /// <summary>The pack of <paramref name="directory"/>.</summary>
    public ArtifactPack For(string directory)
    {
        if (_packs.TryGetValue(directory, out var pack)) return pack;
        var created = new ArtifactPack(directory, _handles);
        pack = _packs.GetOrAdd(directory, created);
        if (pack != created) return pack;
        _added.Enqueue(created);
        // A pack let go is read again from its files when its directory is next used.
        while (_packs.Count > MaxDirectories && _added.TryDequeue(out var oldest))
            if (_packs.TryRemove(new KeyValuePair<string, ArtifactPack>(oldest.Directory, oldest))) oldest.CloseAll();
        return pack;
    }
}
