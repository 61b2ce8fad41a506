using System.Text;

namespace Strata.StepOperators;

/// <summary>
/// Follows a growing log file that a job writes, yielding whole lines as they appear. The UTF-8 decoder keeps its state
/// between reads, so a character split across two reads comes out whole; a last line without its newline is held back
/// until it is finished or the job has ended.
/// </summary>
/// <example>
/// <code>
/// var follower = new LogFileFollower(Path.Combine(jobDirectory, JobFiles.StdoutFile));
/// foreach (var line in follower.ReadNewLines(final: jobEnded)) yield return line;
/// </code>
/// </example>
public sealed class LogFileFollower(string path)
{
    private const int BufferSize = 64 * 1024;
    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private readonly StringBuilder _partial = new();
    private byte[]? _buffer;
    private char[]? _chars;
    private long _position;

    /// <summary>The file followed.</summary>
    public string Path { get; } = path;

    /// <summary>
    /// The lines written since the last call. With <paramref name="final"/> (the job has ended), a last line without
    /// its newline is returned too. A file that does not exist yet has no lines.
    /// </summary>
    public IReadOnlyList<string> ReadNewLines(bool final = false)
    {
        var lines = new List<string>();
        try
        {
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            if (stream.Length > _position)
            {
                _buffer ??= new byte[BufferSize];
                _chars ??= new char[Encoding.UTF8.GetMaxCharCount(BufferSize)];
                stream.Seek(_position, SeekOrigin.Begin);
                int read;
                while ((read = stream.Read(_buffer, 0, _buffer.Length)) > 0)
                {
                    _position += read;
                    var count = _decoder.GetChars(_buffer, 0, read, _chars, 0, flush: false);
                    Split(_chars.AsSpan(0, count), lines);
                }
            }
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        if (final)
        {
            // Bytes of a character the job never finished writing are shown as the replacement character.
            var rest = new char[8];
            var count = _decoder.GetChars([], 0, 0, rest, 0, flush: true);
            _partial.Append(rest, 0, count);
            if (_partial.Length > 0)
            {
                lines.Add(_partial.ToString());
                _partial.Clear();
            }
        }
        return lines;
    }

    private void Split(ReadOnlySpan<char> chars, List<string> lines)
    {
        while (chars.Length > 0)
        {
            var newline = chars.IndexOf('\n');
            if (newline < 0)
            {
                _partial.Append(chars);
                return;
            }
            _partial.Append(chars[..newline]);
            var length = _partial.Length > 0 && _partial[^1] == '\r' ? _partial.Length - 1 : _partial.Length;
            lines.Add(_partial.ToString(0, length));
            _partial.Clear();
            chars = chars[(newline + 1)..];
        }
    }
}
