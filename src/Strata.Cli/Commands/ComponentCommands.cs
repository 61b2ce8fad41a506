using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata orchestrator|artifact-store|step-operator|container-registry|image-builder ...</c>: one group per component type.</summary>
internal static class ComponentCommands
{
    public static Command Create(ComponentType type)
    {
        var typeName = ComponentTypes.CliName(type);
        var noun = ComponentTypes.Noun(type);
        var aNoun = ComponentTypes.WithArticle(type);
        var group = new Command(typeName, $"Register, inspect and change {Plural(noun)}.");

        var name = new Argument<string>("name") { Description = $"The {noun}'s name." };
        var flavor = new Option<string>("--flavor", "-f") { Description = "The flavor (see `flavor list`).", Required = true };
        var register = new Command("register",
            $"Register {aNoun}: NAME --flavor=F [--key=value ...] (see `strata {typeName} flavor describe F` for the keys).")
        {
            name, flavor,
        };
        register.TreatUnmatchedTokensAsErrors = false;
        Handler.Set(register, async c =>
        {
            var client = await c.ClientAsync();
            var warnings = new List<string>();
            var record = await client.Stacks.RegisterComponentAsync(type, c.Get(name)!, c.Get(flavor)!, Handler.ConfigPairs(c.Parse), warnings,
                c.CancellationToken);
            foreach (var warning in warnings) await c.Error.WriteLineAsync($"warning: {warning}");
            if (c.Json) c.WriteJson(Shapes.Component(record, client.Stacks));
            else c.Success($"Registered {noun} '{record.Name}' (flavor {record.Flavor}).");
            return Handler.Ok;
        });

        var list = new Command("list", $"List {Plural(noun)}.");
        Handler.Set(list, async c =>
        {
            var client = await c.ClientAsync();
            var records = await client.Stacks.ListComponentsAsync(type, c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(records.Select(r => Shapes.Component(r, client.Stacks)).ToArray());
                return Handler.Ok;
            }
            if (records.Count == 0)
            {
                c.Out.WriteLine($"No {Plural(noun)}. Register one with `strata {typeName} register NAME --flavor=F`.");
                return Handler.Ok;
            }
            var table = Tables.Create("NAME", "FLAVOR", "CONFIG", "UPDATED");
            foreach (var r in records)
                Tables.Row(table, r.Name, r.Flavor, string.Join(", ", client.Stacks.MaskedConfig(r).Select(kv => $"{kv.Key}={kv.Value}")),
                    Tables.Time(r.UpdatedAt));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var describeName = new Argument<string>("name") { Description = $"The {noun}'s name." };
        var describe = new Command("describe", $"Show {aNoun}'s flavor and config.") { describeName };
        Handler.Set(describe, async c =>
        {
            var client = await c.ClientAsync();
            var r = await client.Stacks.GetComponentAsync(type, c.Get(describeName)!, c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(Shapes.Component(r, client.Stacks));
                return Handler.Ok;
            }
            c.Out.WriteLine($"{typeName} '{r.Name}'  flavor: {r.Flavor}  id: {r.Id}");
            var table = Tables.Create("KEY", "VALUE");
            foreach (var (k, v) in client.Stacks.MaskedConfig(r)) Tables.Row(table, k, v);
            c.Out.Write(table);
            return Handler.Ok;
        });

        var updateName = new Argument<string>("name") { Description = $"The {noun}'s name." };
        var update = new Command("update", $"Change config values of {aNoun}: NAME --key=value ... (an empty value removes a key).") { updateName };
        update.TreatUnmatchedTokensAsErrors = false;
        Handler.Set(update, async c =>
        {
            var changes = Handler.ConfigPairs(c.Parse);
            if (changes.Count == 0)
                throw new CliUsageException($"Nothing to update; give --key=value pairs (see `strata {typeName} describe {c.Get(updateName)}`).");
            var client = await c.ClientAsync();
            var warnings = new List<string>();
            var r = await client.Stacks.UpdateComponentAsync(type, c.Get(updateName)!, changes, warnings, c.CancellationToken);
            foreach (var warning in warnings) await c.Error.WriteLineAsync($"warning: {warning}");
            if (c.Json) c.WriteJson(Shapes.Component(r, client.Stacks));
            else c.Success($"Updated {noun} '{r.Name}'.");
            return Handler.Ok;
        });

        var deleteName = new Argument<string>("name") { Description = $"The {noun}'s name." };
        var delete = new Command("delete", $"Delete {aNoun} that no stack uses.") { deleteName };
        Handler.Set(delete, async c =>
        {
            var client = await c.ClientAsync();
            await client.Stacks.DeleteComponentAsync(type, c.Get(deleteName)!, c.CancellationToken);
            c.Success($"Deleted {noun} '{c.Get(deleteName)}'.");
            return Handler.Ok;
        });

        group.Subcommands.Add(register);
        group.Subcommands.Add(list);
        group.Subcommands.Add(describe);
        group.Subcommands.Add(update);
        group.Subcommands.Add(delete);
        group.Subcommands.Add(FlavorCommands(type));
        return group;
    }

    private static string Plural(string noun) => noun.EndsWith('y') ? noun[..^1] + "ies" : noun + "s";

    private static Command FlavorCommands(ComponentType type)
    {
        var typeName = ComponentTypes.CliName(type);
        var noun = ComponentTypes.Noun(type);
        var group = new Command("flavor", $"The {noun} flavors that are installed.");

        var list = new Command("list", $"List {noun} flavors.");
        Handler.Set(list, c =>
        {
            var flavors = FlavorRegistry.Default.List(type);
            if (c.Json)
            {
                c.WriteJson(flavors.Select(f => new { name = f.Name, type = typeName, integration = f.Integration, description = f.Description }).ToArray());
                return Task.FromResult(Handler.Ok);
            }
            if (flavors.Count == 0)
            {
                c.Out.WriteLine($"No {noun} flavors are installed.");
                return Task.FromResult(Handler.Ok);
            }
            var table = Tables.Create("FLAVOR", "INTEGRATION", "DESCRIPTION");
            foreach (var f in flavors) Tables.Row(table, f.Name, f.Integration, f.Description);
            c.Out.Write(table);
            return Task.FromResult(Handler.Ok);
        });

        var flavorName = new Argument<string>("flavor") { Description = "The flavor's name." };
        var describe = new Command("describe", "Show a flavor's config schema: keys, types, defaults, which are required or secret.") { flavorName };
        Handler.Set(describe, c =>
        {
            var flavor = FlavorRegistry.Default.Get(type, c.Get(flavorName)!);
            var fields = flavor.Schema.Fields;
            if (c.Json)
            {
                c.WriteJson(new
                {
                    name = flavor.Name, type = typeName, integration = flavor.Integration, description = flavor.Description,
                    config = fields.Select(f => new
                    {
                        name = f.Name, type = f.TypeName, required = f.Required, @default = f.Default, secret = f.Secret, aliases = f.Aliases,
                        description = f.Description,
                    }).ToArray(),
                });
                return Task.FromResult(Handler.Ok);
            }
            c.Out.WriteLine($"{typeName} flavor '{flavor.Name}' ({flavor.Integration}): {flavor.Description}");
            if (fields.Count == 0)
            {
                c.Out.WriteLine("No config keys.");
                return Task.FromResult(Handler.Ok);
            }
            var aliases = fields.Any(f => f.Aliases.Count > 0);
            var table = aliases
                ? Tables.Create("KEY", "ALIASES", "TYPE", "REQUIRED", "DEFAULT", "SECRET", "DESCRIPTION")
                : Tables.Create("KEY", "TYPE", "REQUIRED", "DEFAULT", "SECRET", "DESCRIPTION");
            foreach (var f in fields)
            {
                string[] cells = [f.TypeName, f.Required ? "yes" : "", f.Default ?? "", f.Secret ? "yes" : "", f.Description];
                Tables.Row(table, aliases ? [f.Name, string.Join(", ", f.Aliases), .. cells] : [f.Name, .. cells]);
            }
            c.Out.Write(table);
            return Task.FromResult(Handler.Ok);
        });

        group.Subcommands.Add(list);
        group.Subcommands.Add(describe);
        return group;
    }
}
