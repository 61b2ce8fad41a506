using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata artifact list|show</c>.</summary>
internal static class ArtifactCommands
{
    public static Command Create()
    {
        var group = new Command("artifact", "Inspect stored step outputs.");

        var run = new Option<string>("--run", "-r") { Description = "Only artifacts produced in this run (name or id)." };
        var limit = new Option<int>("--limit", "-n") { Description = "How many, newest first.", DefaultValueFactory = _ => 50 }.AtLeast(1);
        var list = new Command("list", "List artifacts.") { run, limit };
        Handler.Set(list, async c =>
        {
            var client = await c.ClientAsync();
            string? runId = null;
            if (c.Get(run) is { } r) runId = (await RunCommands.FindAsync(client, r, c.CancellationToken)).Id;
            var artifacts = await client.Store.ListArtifactsAsync(runId, c.Get(limit), c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(artifacts.Select(Shapes.Artifact).ToArray());
                return Handler.Ok;
            }
            var table = Tables.Create("ID", "OUTPUT", "TYPE", "MATERIALIZER", "SIZE", "CREATED");
            foreach (var a in artifacts)
                Tables.Row(table, a.Id, a.OutputName, a.TypeName.Split(',')[0], a.Materializer, Tables.Size(a.Size), Tables.Time(a.CreatedAt));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var id = new Argument<string>("id") { Description = "Artifact id or a unique prefix." };
        var show = new Command("show", "Show an artifact: where it is, what produced it, its type, hash and size.") { id };
        Handler.Set(show, async c =>
        {
            var client = await c.ClientAsync();
            var a = await client.Store.FindArtifactAsync(c.Get(id)!, c.CancellationToken)
                ?? throw new CliUsageException($"No artifact '{c.Get(id)}'; see `strata artifact list`.");
            if (c.Json)
            {
                c.WriteJson(Shapes.Artifact(a));
                return Handler.Ok;
            }
            var table = Tables.Create("FIELD", "VALUE");
            Tables.Row(table, "id", a.Id);
            Tables.Row(table, "uri", a.Uri);
            Tables.Row(table, "output", a.OutputName);
            Tables.Row(table, "type", a.TypeName);
            Tables.Row(table, "materializer", $"{a.Materializer} v{a.MaterializerVersion}");
            Tables.Row(table, "content hash", a.ContentHash);
            Tables.Row(table, "size", $"{Tables.Size(a.Size)} ({a.Size} bytes)");
            Tables.Row(table, "produced by step run", a.ProducerStepRunId);
            Tables.Row(table, "created", Tables.Time(a.CreatedAt));
            c.Out.Write(table);
            return Handler.Ok;
        });

        group.Subcommands.Add(list);
        group.Subcommands.Add(show);
        return group;
    }
}
