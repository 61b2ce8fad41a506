using System.Globalization;
using Spectre.Console;

namespace Strata.Cli;

internal static class Tables
{
    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var h in headers) table.AddColumn(new TableColumn(new Text(h)));
        return table;
    }

    /// <summary>Adds a row of plain text (never parsed as markup, so user values print as they are).</summary>
    public static void Row(Table table, params string?[] cells) =>
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c ?? "")).ToArray());

    public static string Time(DateTimeOffset? t) => t?.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end) =>
        start is { } s && end is { } e ? ConsoleRunReporter.Format(e - s) : "";

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };
}

/// <summary>
/// Drops the spaces at the end of each line. Spectre.Console pads tables to their width, which on a terminal is
/// invisible but in a pipe or a file leaves every line ending in spaces (noise in diffs, greps and logs).
/// </summary>
/// <remarks>
/// It hands on whole lines. The console's writer flushes on every write, and Spectre.Console writes a table a few
/// characters at a time: written through, a table of 50 steps cost thousands of one-byte system calls.
/// </remarks>
internal sealed class TrailingSpaceTrimmer(TextWriter inner) : TextWriter
{
    private readonly System.Text.StringBuilder _line = new();
    private int _pendingSpaces;

    public override System.Text.Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        switch (value)
        {
            case ' ':
                _pendingSpaces++;
                return;
            case '\n' or '\r':
                _pendingSpaces = 0;
                _line.Append(value);
                if (value == '\n') HandOn();
                return;
            default:
                _line.Append(' ', _pendingSpaces).Append(value);
                _pendingSpaces = 0;
                return;
        }
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? "") Write(c);
    }

    /// <summary>Hands on what was written so far (spaces still pending stay: they may end a line).</summary>
    public override void Flush()
    {
        HandOn();
        inner.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Flush();
        base.Dispose(disposing);
    }

    private void HandOn()
    {
        if (_line.Length == 0) return;
        inner.Write(_line.ToString());
        _line.Clear();
    }
}
