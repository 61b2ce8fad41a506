using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Strata.Cli;

/// <summary>What a command needs: its parsed input, the store (opened on first use), and where to print.</summary>
internal sealed class CliContext(ParseResult parse, CancellationToken cancellationToken) : IAsyncDisposable
{
    private StrataClient? _client;
    private IAnsiConsole? _out;
    private TextWriter? _trimmed;

    public ParseResult Parse { get; } = parse;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>The console for people (tables, markup); made on first use, so JSON output does not load it.</summary>
    public IAnsiConsole Out => _out ??= CreateConsole();
    public TextWriter Error { get; } = Console.Error;

    public bool Json => Parse.GetValue(GlobalOptions.Output) == "json";

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);
    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    public async Task<StrataClient> ClientAsync()
    {
        _client ??= await StrataClient.OpenAsync(cancellationToken: CancellationToken).ConfigureAwait(false);
        return _client;
    }

    /// <summary>Writes a JSON document to standard output.</summary>
    public void WriteJson(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, CliJson.Options));

    /// <summary>Writes a JSON document to standard output as <paramref name="write"/> produces it (see <see cref="FlushSome"/>).</summary>
    public void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
            writer.Flush();
        }
        stdout.Write("\n"u8);
    }

    /// <summary>Writes a JSON array of <paramref name="items"/> to standard output, each as it comes.</summary>
    public void WriteJsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write) => WriteJson(w =>
    {
        w.WriteStartArray();
        foreach (var item in items)
        {
            write(w, item);
            FlushSome(w);
        }
        w.WriteEndArray();
    });

    /// <summary>Hands what a writer holds to its stream once it is large: call between the items of a long array.</summary>
    public static void FlushSome(Utf8JsonWriter writer)
    {
        if (writer.BytesPending >= 64 * 1024) writer.Flush();
    }

    public void Success(string message) => Out.MarkupLine($"[green]{Markup.Escape(message)}[/]");

    private IAnsiConsole CreateConsole()
    {
        if (!Console.IsOutputRedirected)
            return AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        // In a pipe or a file: plain text (Spectre.Console cannot tell the wrapped writer is redirected), a fixed width,
        // and no padding left at the ends of lines.
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(_trimmed = new TrailingSpaceTrimmer(Console.Out)),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 160;
        return console;
    }

    public async ValueTask DisposeAsync()
    {
        _trimmed?.Flush();
        if (_client is not null) await _client.DisposeAsync().ConfigureAwait(false);
    }
}

internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}

internal static class GlobalOptions
{
    public static readonly Option<string> Output = new("--output")
    {
        Description = "Output format: table (for people) or json (for scripts; a stable shape, see docs/cli.md).",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    static GlobalOptions() => Output.AcceptOnlyFromAmong("table", "json");
}
