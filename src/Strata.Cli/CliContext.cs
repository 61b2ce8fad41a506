using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli;

/// <summary>What a command needs: its parsed input, the store (opened on first use), and where to print.</summary>
internal sealed class CliContext(ParseResult parse, CancellationToken cancellationToken) : IAsyncDisposable
{
    private StrataClient? _client;

    public ParseResult Parse { get; } = parse;
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public IAnsiConsole Out { get; } = CreateConsole();
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
    public void WriteJson(object value) => Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, CliJson.Options));

    public void Success(string message) => Out.MarkupLine($"[green]{Markup.Escape(message)}[/]");

    private static IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = 160;
        return console;
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync().ConfigureAwait(false);
    }
}

internal static class CliJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower) },
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
