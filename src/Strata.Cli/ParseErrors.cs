using System.CommandLine;
using System.CommandLine.Parsing;

namespace Strata.Cli;

/// <summary>
/// Turns a command line that does not parse into what to print: a mistyped command or option gets one line naming the
/// closest one that exists, instead of a line per stray word.
/// </summary>
internal static class ParseErrors
{
    public static IReadOnlyList<string> Describe(ParseResult parse)
    {
        if (parse.UnmatchedTokens.Count > 0 && Unknown(parse.CommandResult, parse.UnmatchedTokens[0]) is { } unknown)
            return [unknown];
        return parse.Errors.Select(e => $"error: {e.Message}").ToArray();
    }

    /// <summary>The usage hint: the help of the deepest command that was recognised.</summary>
    public static string UsageHint(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var r = parse.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as CommandResult)
            names.Push(r.Command.Name);
        return $"Run 'strata {string.Concat(names.Select(n => n + " "))}--help' for usage.";
    }

    private static string? Unknown(CommandResult result, string token)
    {
        var command = result.Command;
        if (token.StartsWith('-') && token.Length > 1)
        {
            var name = token.Split('=', 2)[0];
            var closest = Spelling.Closest(name, OptionNames(result, longOnly: name.StartsWith("--", StringComparison.Ordinal)));
            return $"error: unknown option '{name}'" + Suggestion(closest);
        }
        if (command.Subcommands.Count > 0)
        {
            var names = command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name));
            return $"error: unknown command '{token}'" + Suggestion(Spelling.Closest(token, names));
        }
        return $"error: unexpected argument '{token}'.";
    }

    private static string Suggestion(string? closest) => closest is null ? "." : $"; did you mean '{closest}'?";

    /// <summary>The options the command takes: its own and those its parents pass down.</summary>
    private static IEnumerable<string> OptionNames(CommandResult result, bool longOnly)
    {
        var options = new List<Option>(result.Command.Options);
        for (var parent = result.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
            options.AddRange(parent.Command.Options.Where(o => o.Recursive));
        return options.Where(o => !o.Hidden)
            .SelectMany(o => o.Aliases.Prepend(o.Name))
            .Where(n => n.StartsWith('-') && (!longOnly || n.StartsWith("--", StringComparison.Ordinal)));
    }
}
