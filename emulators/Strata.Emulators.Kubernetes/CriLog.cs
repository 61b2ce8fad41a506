using System.Globalization;
using System.Text;

namespace Strata.Emulators.Kubernetes;

/// <summary>
/// A container's log file in the CRI format a kubelet reads (<c>TIMESTAMP STREAM P|F TEXT</c> a line; podman's k8s-file driver writes
/// it), read forward from where the last read ended. Partial entries (<c>P</c>, where the runtime cut a long or fast line) are joined
/// into the line they belong to, as the kubelet does; podman's own <c>logs --timestamps</c> prints a timestamp inside such a line.
/// </summary>
internal sealed class CriLog(string path)
{
    private readonly Dictionary<string, (string Time, StringBuilder Text)> _partial = new(StringComparer.Ordinal);
    private long _offset;

    /// <summary>One line of the container's output: when it was written (RFC 3339, nanoseconds, UTC) and its text.</summary>
    public sealed record Entry(DateTimeOffset At, string Time, string Text);

    /// <summary>The complete lines written since the last read.</summary>
    public List<Entry> ReadNew()
    {
        var entries = new List<Entry>();
        if (!File.Exists(path)) return entries;
        byte[] bytes;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (file.Length <= _offset) return entries;
            file.Seek(_offset, SeekOrigin.Begin);
            bytes = new byte[file.Length - _offset];
            file.ReadExactly(bytes);
        }
        // Only whole lines: the runtime may be in the middle of writing the last one.
        var end = Array.LastIndexOf(bytes, (byte)'\n');
        if (end < 0) return entries;
        _offset += end + 1;
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
        {
            var parts = line.Split(' ', 4);
            if (parts.Length < 3) continue;
            var (time, stream, tag, text) = (parts[0], parts[1], parts[2], parts.Length > 3 ? parts[3] : "");
            if (tag == "P")
            {
                if (_partial.TryGetValue(stream, out var started)) started.Text.Append(text);
                else _partial[stream] = (time, new StringBuilder(text));
                continue;
            }
            if (_partial.Remove(stream, out var partial))
            {
                time = partial.Time;
                text = partial.Text.Append(text).ToString();
            }
            if (TryParse(time, out var at)) entries.Add(new Entry(at, Rfc3339(time), text));
        }
        return entries;
    }

    /// <summary>Kubernetes' form: UTC with a Z (podman writes +00:00).</summary>
    private static string Rfc3339(string time) => time.EndsWith("+00:00", StringComparison.Ordinal) ? time[..^6] + "Z" : time;

    /// <summary>RFC 3339 with up to nine fractional digits (.NET keeps seven).</summary>
    public static bool TryParse(string text, out DateTimeOffset at)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var digits = dot + 1;
            while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
            if (digits - dot - 1 > 7) text = text[..(dot + 8)] + text[digits..];
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);
    }
}
