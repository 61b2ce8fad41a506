using System.CommandLine;

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
            var producers = new Producers(client.Store);
            if (c.Json)
            {
                var shaped = new List<object>();
                foreach (var a in artifacts) shaped.Add(Shapes.Artifact(a, await producers.OfAsync(a, c.CancellationToken)));
                c.WriteJson(shaped);
                return Handler.Ok;
            }
            var table = Tables.Create("ID", "OUTPUT", "PRODUCED BY", "TYPE", "MATERIALIZER", "SIZE", "CREATED");
            foreach (var a in artifacts)
                Tables.Row(table, a.Id, a.OutputName, (await producers.OfAsync(a, c.CancellationToken))?.ToString() ?? "", a.TypeName.Split(',')[0],
                    a.Materializer, Tables.Size(a.Size), Tables.Time(a.CreatedAt));
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
            var producer = await new Producers(client.Store).OfAsync(a, c.CancellationToken);
            var value = await SmallValueAsync(client, a, producer, c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(Shapes.Artifact(a, producer, value));
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
            Tables.Row(table, "produced by", producer is null ? a.ProducerStepRunId ?? "" : $"{producer} (step run {producer.StepRunId})");
            Tables.Row(table, "created", Tables.Time(a.CreatedAt));
            if (value is not null) Tables.Row(table, "value", value);
            c.Out.Write(table);
            return Handler.Ok;
        });

        group.Subcommands.Add(list);
        group.Subcommands.Add(show);
        return group;
    }

    /// <summary>The largest value <c>artifact show</c> prints inline.</summary>
    private const int InlineLimit = 4096;

    /// <summary>
    /// A small primitive or JSON value as its stored text, read through the producing run's artifact store and checked against its
    /// content hash; null for other artifacts, or when the store does not hold it as recorded.
    /// </summary>
    private static async Task<string?> SmallValueAsync(StrataClient client, ArtifactRecord a, ArtifactProducer? producer, CancellationToken ct)
    {
        if (a.Size > InlineLimit || a.Materializer is not ("strata.primitive" or "strata.json") || producer is null) return null;
        try
        {
            var store = await client.GetArtifactStoreAsync(producer.Stack, ct);
            return await store.ReadArtifactAsync(store.PathOf(a.Uri), a.ContentHash, async (reader, token) =>
            {
                using var text = new StreamReader(reader.OpenFile(reader.Files.Single()));
                return await text.ReadToEndAsync(token);
            }, ct);
        }
        catch (Exception e) when (e is StrataException or IOException or InvalidOperationException)
        {
            return $"(cannot be read: {e.Message})";
        }
    }
}

/// <summary>Where an artifact came from: pipeline, run and step, for people rather than ids.</summary>
internal sealed record ArtifactProducer(string Pipeline, string RunId, string RunName, string Stack, string Step, string StepRunId)
{
    public override string ToString() => $"{Pipeline}/{RunName}/{Step}";
}

/// <summary>Looks producers up once per step run and run, for a list of artifacts.</summary>
internal sealed class Producers(IMetadataStore store)
{
    private readonly Dictionary<string, ArtifactProducer?> _byStepRun = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunRecord?> _runs = new(StringComparer.Ordinal);

    public async Task<ArtifactProducer?> OfAsync(ArtifactRecord artifact, CancellationToken ct)
    {
        if (artifact.ProducerStepRunId is not { } id) return null;
        if (_byStepRun.TryGetValue(id, out var known)) return known;
        ArtifactProducer? producer = null;
        if (await store.GetStepRunAsync(id, ct) is { } stepRun)
        {
            if (!_runs.TryGetValue(stepRun.RunId, out var run)) _runs[stepRun.RunId] = run = await store.FindRunAsync(stepRun.RunId, ct);
            if (run is not null) producer = new ArtifactProducer(run.Pipeline, run.Id, run.Name, run.Stack, stepRun.Name, stepRun.Id);
        }
        return _byStepRun[id] = producer;
    }
}
