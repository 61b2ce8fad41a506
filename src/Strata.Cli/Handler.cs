using System.CommandLine;

namespace Strata.Cli;

/// <summary>Runs a command body and maps errors to exit codes in one place: a user error prints its message and exits 2.</summary>
internal static class Handler
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UserError = 2;

    public static void Set(Command command, Func<CliContext, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var context = new CliContext(parse, cancellationToken);
            try
            {
                return await body(context).ConfigureAwait(false);
            }
            catch (StrataException e)
            {
                await context.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return UserError;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await context.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
                return 130;
            }
        });

    /// <summary>Reads <c>--key=value</c> and <c>--key value</c> pairs that are not declared options (component config).</summary>
    public static IReadOnlyDictionary<string, string> ConfigPairs(ParseResult parse)
    {
        var pairs = new Dictionary<string, string>();
        var tokens = parse.UnmatchedTokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
                throw new CliUsageException($"Unexpected argument '{token}'; give config as --key=value.");
            var body = token[2..];
            var eq = body.IndexOf('=');
            string key, value;
            if (eq >= 0) (key, value) = (body[..eq], body[(eq + 1)..]);
            else if (i + 1 < tokens.Count && !tokens[i + 1].StartsWith("--", StringComparison.Ordinal)) (key, value) = (body, tokens[++i]);
            else throw new CliUsageException($"Config option '{token}' has no value; write --{body}=VALUE.");
            if (!pairs.TryAdd(key.Replace('-', '_'), value))
                throw new CliUsageException($"Config key '{key}' is given twice.");
        }
        return pairs;
    }
}

/// <summary>A command line that cannot be understood.</summary>
internal sealed class CliUsageException(string message) : StrataException(message);
