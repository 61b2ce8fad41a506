using System.CommandLine;
using Spectre.Console;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Strata.Cli.Commands;

/// <summary><c>strata stack ...</c>: stacks are an orchestrator, an artifact store and optional step operators, registry and image builder.</summary>
internal static class StackCommands
{
    public static Command Create()
    {
        var group = new Command("stack", "Register, activate and inspect stacks.");

        var name = new Argument<string>("name") { Description = "The stack's name." };
        var orchestrator = new Option<string>("--orchestrator", "-o") { Description = "Orchestrator component.", Required = true };
        var artifactStore = new Option<string>("--artifact-store", "-a") { Description = "Artifact store component.", Required = true };
        var stepOperators = new Option<string[]>("--step-operator", "-s")
        {
            Description = "Step operator component; repeat for several (the first is the default).",
            AllowMultipleArgumentsPerToken = false
        };
        var registry = new Option<string>("--container-registry", "-c") { Description = "Container registry component." };
        var builder = new Option<string>("--image-builder", "-i") { Description = "Image builder component." };
        var set = new Option<bool>("--set") { Description = "Make it the active stack." };
        var register = new Command("register", "Register a stack from registered components.") { name, orchestrator, artifactStore, stepOperators, registry,
            builder, set };
        Handler.Set(register, async c =>
        {
            var client = await c.ClientAsync();
            var stack = await client.Stacks.RegisterStackAsync(c.Get(name)!, c.Get(orchestrator)!, c.Get(artifactStore)!, c.Get(stepOperators) ?? [],
                c.Get(registry), c.Get(builder), c.Get(set), c.CancellationToken);
            if (c.Json) c.WriteJson(Shapes.Stack(stack, c.Get(set)));
            else c.Success($"Registered stack '{stack.Name}'{(c.Get(set) ? " and made it active" : "")}.");
            return Handler.Ok;
        });

        var list = new Command("list", "List stacks; the active one is marked.");
        Handler.Set(list, async c =>
        {
            var client = await c.ClientAsync();
            var stacks = await client.Stacks.ListStacksAsync(c.CancellationToken);
            var active = (await client.Stacks.GetActiveStackAsync(c.CancellationToken)).Name;
            if (c.Json)
            {
                c.WriteJson(stacks.Select(s => Shapes.Stack(s, s.Name == active)).ToArray());
                return Handler.Ok;
            }
            var table = Tables.Create("ACTIVE", "STACK", "ORCHESTRATOR", "ARTIFACT STORE", "STEP OPERATORS", "REGISTRY", "IMAGE BUILDER");
            foreach (var s in stacks)
                Tables.Row(table, s.Name == active ? "*" : "", s.Name, s.Single(ComponentType.Orchestrator), s.Single(ComponentType.ArtifactStore),
                    string.Join(", ", s.All(ComponentType.StepOperator)), s.Single(ComponentType.ContainerRegistry), s.Single(ComponentType.ImageBuilder));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var describeName = new Argument<string?>("name") { Description = "The stack (default: the active one).", Arity = ArgumentArity.ZeroOrOne };
        var describe = new Command("describe", "Show a stack's components with their flavors and config.") { describeName };
        Handler.Set(describe, async c =>
        {
            var client = await c.ClientAsync();
            var active = (await client.Stacks.GetActiveStackAsync(c.CancellationToken)).Name;
            var stack = await client.Stacks.GetStackAsync(c.Get(describeName) ?? active, c.CancellationToken);
            var components = new List<ComponentRecord>();
            foreach (var m in stack.Components.OrderBy(m => m.Type).ThenBy(m => m.Position))
                components.Add(await client.Stacks.GetComponentAsync(m.Type, m.Name, c.CancellationToken));
            if (c.Json)
            {
                c.WriteJson(new
                {
                    stack = Shapes.Stack(stack, stack.Name == active),
                    components = components.Select(r => Shapes.Component(r, client.Stacks)).ToArray()
                });
                return Handler.Ok;
            }
            c.Out.WriteLine($"Stack '{stack.Name}'{(stack.Name == active ? " (active)" : "")}");
            var table = Tables.Create("TYPE", "NAME", "FLAVOR", "CONFIG");
            foreach (var r in components)
                Tables.Row(table, ComponentTypes.CliName(r.Type), r.Name, r.Flavor,
                    string.Join(", ", client.Stacks.MaskedConfig(r).Select(kv => $"{kv.Key}={kv.Value}")));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var setName = new Argument<string>("name") { Description = "The stack to activate." };
        var setCommand = new Command("set", "Make a stack the active one.") { setName };
        Handler.Set(setCommand, async c =>
        {
            var client = await c.ClientAsync();
            await client.Stacks.SetActiveStackAsync(c.Get(setName)!, c.CancellationToken);
            c.Success($"Active stack: '{c.Get(setName)}'.");
            return Handler.Ok;
        });

        var get = new Command("get", "Print the active stack's name.");
        Handler.Set(get, async c =>
        {
            var client = await c.ClientAsync();
            var active = await client.Stacks.GetActiveStackAsync(c.CancellationToken);
            if (c.Json) c.WriteJson(Shapes.Stack(active, true));
            else c.Out.WriteLine(active.Name);
            return Handler.Ok;
        });

        var updateName = new Argument<string>("name") { Description = "The stack to change." };
        var uOrchestrator = new Option<string>("--orchestrator", "-o") { Description = "New orchestrator." };
        var uArtifactStore = new Option<string>("--artifact-store", "-a") { Description = "New artifact store." };
        var uStepOperators = new Option<string[]>("--step-operator", "-s") { Description = "Step operators (replace the list; repeat for several)." };
        var uRegistry = new Option<string>("--container-registry", "-c") { Description = "New container registry ('' removes it)." };
        var uBuilder = new Option<string>("--image-builder", "-i") { Description = "New image builder ('' removes it)." };
        var update = new Command("update", "Replace components of a stack.") { updateName, uOrchestrator, uArtifactStore, uStepOperators, uRegistry, uBuilder };
        Handler.Set(update, async c =>
        {
            var client = await c.ClientAsync();
            var ops = c.Parse.GetResult(uStepOperators) is null ? null : c.Get(uStepOperators);
            var stack = await client.Stacks.UpdateStackAsync(c.Get(updateName)!, c.Get(uOrchestrator), c.Get(uArtifactStore), ops, c.Get(uRegistry),
                c.Get(uBuilder), c.CancellationToken);
            if (c.Json) c.WriteJson(Shapes.Stack(stack, (await client.Stacks.GetActiveStackAsync(c.CancellationToken)).Name == stack.Name));
            else c.Success($"Updated stack '{stack.Name}'.");
            return Handler.Ok;
        });

        var deleteName = new Argument<string>("name") { Description = "The stack to delete (its components stay)." };
        var delete = new Command("delete", "Delete a stack; its components stay registered.") { deleteName };
        Handler.Set(delete, async c =>
        {
            var client = await c.ClientAsync();
            await client.Stacks.DeleteStackAsync(c.Get(deleteName)!, c.CancellationToken);
            c.Success($"Deleted stack '{c.Get(deleteName)}'.");
            return Handler.Ok;
        });

        var exportName = new Argument<string>("name") { Description = "The stack to export." };
        var exportFile = new Argument<string>("file") { Description = "The YAML file to write." };
        var export = new Command("export", "Write a stack and its components' flavors and config to a YAML file.") { exportName, exportFile };
        Handler.Set(export, async c =>
        {
            var client = await c.ClientAsync();
            var document = await client.Stacks.ExportAsync(c.Get(exportName)!, c.CancellationToken);
            var yaml = new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Serialize(document);
            await File.WriteAllTextAsync(c.Get(exportFile)!, yaml, c.CancellationToken);
            c.Success($"Exported stack '{document.Name}' to {c.Get(exportFile)}.");
            return Handler.Ok;
        });

        var importFile = new Argument<string>("file") { Description = "A YAML file from `strata stack export`." };
        var importName = new Option<string>("--name") { Description = "Register the stack under this name instead of the file's." };
        var import = new Command("import", "Register a stack (and any components it needs) from a YAML file.") { importFile, importName };
        Handler.Set(import, async c =>
        {
            var path = c.Get(importFile)!;
            if (!File.Exists(path)) throw new CliUsageException($"File '{path}' not found.");
            StackDocument document;
            try
            {
                document = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build()
                    .Deserialize<StackDocument>(await File.ReadAllTextAsync(path, c.CancellationToken)) ?? new StackDocument();
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new CliUsageException($"'{path}' is not a valid stack file: {e.Message}");
            }
            var client = await c.ClientAsync();
            var stack = await client.Stacks.ImportAsync(document, c.Get(importName), c.CancellationToken);
            c.Success($"Imported stack '{stack.Name}'.");
            return Handler.Ok;
        });

        foreach (var command in new[] { register, list, describe, setCommand, get, update, delete, export, import })
            group.Subcommands.Add(command);
        return group;
    }
}
