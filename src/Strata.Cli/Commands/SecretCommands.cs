using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata secret create|list|describe|update|delete</c>. No command prints a secret value.</summary>
internal static class SecretCommands
{
    private const string ValueHelp =
        "Give a value as --key=value, as --key=- to read it from standard input, or with --from-env key=ENVVAR to take it " +
        "from an environment variable; the last two keep it off the command line and out of shell history.";

    public static Command Create()
    {
        var group = new Command("secret",
            "Named sets of secret values, encrypted in the store. Component config refers to them as {{NAME.key}}; " +
            "a step marked [Step(Secrets = [\"NAME\"])] gets them as environment variables.");

        var name = NameArgument();
        var createFromEnv = FromEnvOption();
        var create = new Command("create", $"Create a secret: NAME --key=value ... {ValueHelp}") { name, createFromEnv };
        create.TreatUnmatchedTokensAsErrors = false;
        Handler.Set(create, async c =>
        {
            var secretName = CheckName(c.Get(name)!);
            var values = await ValuesAsync(c, createFromEnv);
            if (values.Count == 0) throw new CliUsageException($"Give the secret's values: strata secret create {secretName} --key=value ... (see --help).");
            var client = await c.ClientAsync();
            var info = await client.Secrets.CreateAsync(secretName, values, c.CancellationToken);
            if (c.Json) c.WriteJson(Shapes.SecretDescription(info));
            else c.Success($"Created secret '{info.Name}' with key{(info.Keys.Count == 1 ? "" : "s")} {string.Join(", ", info.Keys)}.");
            return Handler.Ok;
        });

        var list = new Command("list", "List secrets: names and keys, never values.");
        Handler.Set(list, async c =>
        {
            var client = await c.ClientAsync();
            var secrets = await client.Secrets.ListAsync(c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(secrets.Select(Shapes.Secret).ToArray());
                return Handler.Ok;
            }
            if (secrets.Count == 0)
            {
                c.Out.WriteLine("No secrets. Create one with `strata secret create NAME --key=value`.");
                return Handler.Ok;
            }
            var table = Tables.Create("NAME", "KEYS", "CREATED", "UPDATED");
            foreach (var s in secrets) Tables.Row(table, s.Name, string.Join(", ", s.Keys), Tables.Time(s.CreatedAt), Tables.Time(s.UpdatedAt));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var describeName = NameArgument();
        var describe = new Command("describe", "Show a secret's keys, with the values masked.") { describeName };
        Handler.Set(describe, async c =>
        {
            var client = await c.ClientAsync();
            var info = await client.Secrets.DescribeAsync(c.Get(describeName)!, c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(Shapes.SecretDescription(info));
                return Handler.Ok;
            }
            c.Out.WriteLine($"secret '{info.Name}'  id: {info.Id}  created: {Tables.Time(info.CreatedAt)}  updated: {Tables.Time(info.UpdatedAt)}");
            var table = Tables.Create("KEY", "VALUE", "REFERENCE");
            foreach (var (k, v) in info.MaskedValues) Tables.Row(table, k, v, $"{{{{{info.Name}.{k}}}}}");
            c.Out.Write(table);
            return Handler.Ok;
        });

        var updateName = NameArgument();
        var updateFromEnv = FromEnvOption();
        var update = new Command("update", $"Change a secret: NAME --key=value ... sets or adds keys, --key= removes one, the rest stay. {ValueHelp}")
        {
            updateName, updateFromEnv,
        };
        update.TreatUnmatchedTokensAsErrors = false;
        Handler.Set(update, async c =>
        {
            var secretName = CheckName(c.Get(updateName)!);
            var changes = await ValuesAsync(c, updateFromEnv);
            if (changes.Count == 0) throw new CliUsageException($"Nothing to update; give --key=value pairs (see `strata secret describe {secretName}`).");
            var client = await c.ClientAsync();
            var info = await client.Secrets.UpdateAsync(secretName, changes, c.CancellationToken);
            if (c.Json) c.WriteJson(Shapes.SecretDescription(info));
            else c.Success($"Updated secret '{info.Name}' (keys: {string.Join(", ", info.Keys)}).");
            return Handler.Ok;
        });

        var deleteName = NameArgument();
        var delete = new Command("delete", "Delete a secret. Components and steps that refer to it fail at their next run.") { deleteName };
        Handler.Set(delete, async c =>
        {
            var client = await c.ClientAsync();
            await client.Secrets.DeleteAsync(c.Get(deleteName)!, c.CancellationToken);
            if (c.Json) c.WriteJson(new { name = c.Get(deleteName), deleted = true });
            else c.Success($"Deleted secret '{c.Get(deleteName)}'.");
            return Handler.Ok;
        });

        group.Subcommands.Add(create);
        group.Subcommands.Add(list);
        group.Subcommands.Add(describe);
        group.Subcommands.Add(update);
        group.Subcommands.Add(delete);
        return group;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The secret's name (letters, digits, '_', '-', '.')." };

    private static Option<string[]> FromEnvOption() => new("--from-env")
    {
        HelpName = "key=ENVVAR",
        Description = "key=ENVVAR: set the key to the value of environment variable ENVVAR (repeatable), so the value is not on the command line.",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>A value given before the name would be read as the name; refuse it without echoing it.</summary>
    private static string CheckName(string name) => name.StartsWith('-')
        ? throw new CliUsageException("Give the secret's name first: strata secret create|update NAME --key=value ...")
        : name;

    /// <summary>
    /// The key/value pairs of <c>create</c> and <c>update</c>. Unlike component config, no message here repeats an
    /// argument: it may be a value.
    /// </summary>
    private static async Task<Dictionary<string, string>> ValuesAsync(CliContext c, Option<string[]> fromEnv)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string key, string value)
        {
            if (!values.TryAdd(key, value)) throw new CliUsageException($"Key '{key}' is given twice.");
        }

        var tokens = c.Parse.UnmatchedTokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
                throw new CliUsageException("Unexpected argument after the name (not shown: it may be a value); give values as --key=value.");
            var body = token[2..];
            var eq = body.IndexOf('=');
            if (eq >= 0) Add(body[..eq], body[(eq + 1)..]);
            else if (i + 1 < tokens.Count && !tokens[i + 1].StartsWith("--", StringComparison.Ordinal)) Add(body, tokens[++i]);
            else throw new CliUsageException($"'--{body}' has no value; write --{body}=VALUE, --{body}=- (standard input) or --from-env {body}=ENVVAR.");
        }

        var fromStdin = values.Where(kv => kv.Value == "-").Select(kv => kv.Key).ToArray();
        if (fromStdin.Length > 1)
            throw new CliUsageException($"Only one value can come from standard input, not {string.Join(", ", fromStdin.Select(k => $"'{k}'"))}; use " +
                "--from-env for the others.");
        if (fromStdin.Length == 1)
        {
            var key = fromStdin[0];
            if (!Console.IsInputRedirected) await c.Error.WriteLineAsync($"Value of '{key}' (end with Ctrl-D):");
            var text = await Console.In.ReadToEndAsync(c.CancellationToken);
            // `echo value |` and here-documents end with a newline that is not part of the value.
            if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
            else if (text.EndsWith('\n')) text = text[..^1];
            if (text.Length == 0) throw new CliUsageException($"Standard input gave no value for '{key}'.");
            values[key] = text;
        }

        foreach (var spec in c.Get(fromEnv) ?? [])
        {
            var eq = spec.IndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1)
                throw new CliUsageException("--from-env takes key=ENVVAR (the argument given is not shown: it may be a value).");
            var (key, variable) = (spec[..eq], spec[(eq + 1)..]);
            var value = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
                throw new CliUsageException($"The environment variable --from-env names for key '{key}' is not set or is empty (its name is not shown: it " +
                    "may be a value).");
            Add(key, value);
        }
        return values;
    }
}
