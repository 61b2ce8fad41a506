using System.Text;
using System.Text.Json;

namespace Strata.Emulators;

/// <summary>Command lines as a POSIX shell reads and writes them, for the words users give and the lines printed for them to paste.</summary>
internal static class Shell
{
    /// <summary>The value as one shell word: as it is when nothing in it is special, else in single quotes.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "_-./:=@+,%".Contains(c))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Splits at unquoted blanks; '...' and "..." group (no escapes inside single quotes). Null when a quote is not closed.</summary>
    public static string[]? Words(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else if (c == '\\' && quote == '"' && i + 1 < line.Length && line[i + 1] is '"' or '\\') word.Append(line[++i]);
                else word.Append(c);
            }
            else if (c is '\'' or '"') { quote = c; inWord = true; }
            else if (c == '\\' && i + 1 < line.Length) { word.Append(line[++i]); inWord = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else { word.Append(c); inWord = true; }
        }
        if (quote != '\0') return null;
        if (inWord) words.Add(word.ToString());
        return words.ToArray();
    }

    /// <summary>A JSON array of strings (Docker's exec form, ["/bin/sh", "-c", "echo hi"]); null when it is not one.</summary>
    public static string[]? JsonWords(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<string[]>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>NAME=ENTRYPOINT, the entrypoint as shell words or a JSON array.</summary>
    public static (string? Name, string[]? Entrypoint, string? Error) ImageMapping(string mapping)
    {
        var eq = mapping.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
            return (null, null, $"--image takes NAME=ENTRYPOINT (e.g. app:1='/bin/sh -c \"echo hi\"'), not '{mapping}'.");
        var (name, command) = (mapping[..eq], mapping[(eq + 1)..].Trim());
        var words = command.StartsWith('[') ? JsonWords(command) : Words(command);
        return words is { Length: > 0 } && words.All(w => w is not null)
            ? (name, words, null)
            : (null, null, $"--image {name}: the entrypoint '{command}' is empty or badly quoted.");
    }
}
