namespace Strata.Tests.Orchestration;

public sealed record Pair(int Left, string Right);

public static class LineageSteps
{
    [Step]
    public static int[] Produce(int n) => Enumerable.Range(0, n).ToArray();

    [Step]
    public static Pair MakePair(int[] values) => new(values.Length, "right");

    [Step]
    public static string Consume(int[] values, Pair pair, int scale) => $"{values.Length * scale}:{pair.Left}:{pair.Right}";
}

public class LineageTests
{
    [Fact]
    public async Task Every_output_is_recorded_with_uri_type_materializer_hash_size_and_producer()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(LineageSteps.MakePair, p.Step(LineageSteps.Produce, 3)));
        var artifacts = await home.Client.GetArtifactStoreAsync();

        var outputs = await home.Store.GetStepOutputsAsync(result.Run.Id);
        Assert.Equal(3, outputs.Count);
        var produce = Assert.Single(outputs, o => o.StepRunId == result["produce"].StepRunId);
        Assert.Equal("output", produce.Name);
        Assert.Equal(result["produce"].Outputs["output"].Id, produce.Artifact.Id);
        Assert.Equal(result["produce"].StepRunId, produce.Artifact.ProducerStepRunId);
        Assert.Equal("output", produce.Artifact.OutputName);
        Assert.StartsWith(home.ArtifactsPath, produce.Artifact.Uri);
        Assert.True(await artifacts.ExistsAsync(artifacts.PathOf(produce.Artifact.Uri)));
        Assert.Contains("System.Int32[]", produce.Artifact.TypeName);
        Assert.False(string.IsNullOrEmpty(produce.Artifact.Materializer));
        Assert.True(produce.Artifact.MaterializerVersion >= 1);
        Assert.False(string.IsNullOrEmpty(produce.Artifact.ContentHash));
        Assert.True(produce.Artifact.Size > 0);

        var pair = outputs.Where(o => o.StepRunId == result["make_pair"].StepRunId).OrderBy(o => o.Name).ToArray();
        Assert.Equal(["left", "right"], pair.Select(o => o.Name));
        Assert.All(pair, o => Assert.Equal(result["make_pair"].StepRunId, o.Artifact.ProducerStepRunId));
        Assert.Contains("System.String", pair[1].Artifact.TypeName);
        Assert.NotEqual(pair[0].Artifact.Uri, pair[1].Artifact.Uri);

        var found = await home.Store.FindArtifactAsync(produce.Artifact.Id);
        Assert.Equal(produce.Artifact, found);
        Assert.Equal(3, (await home.Store.ListArtifactsAsync(result.Run.Id)).Count);
    }

    [Fact]
    public async Task A_run_keeps_its_pipelines_graph_so_steps_that_never_ran_are_placed()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p =>
        {
            var values = p.Step(LineageSteps.Produce, 3);
            p.Step(LineageSteps.Consume, values, p.Step(LineageSteps.MakePair, values), 2);
        });

        var graph = await home.Store.GetRunGraphAsync(result.Run.Id);
        Assert.NotNull(graph);
        Assert.Equal(["consume", "make_pair", "produce"], graph.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(graph["produce"]);
        Assert.Equal(["produce"], graph["make_pair"]);
        Assert.Equal(["make_pair", "produce"], graph["consume"].Order(StringComparer.Ordinal));

        // Each consumer of produce's output is found from the artifact.
        var consumers = await home.Store.GetArtifactConsumersAsync(result["produce"].Outputs["output"].Id);
        Assert.Equal(["consume", "make_pair"], consumers.Select(c => c.StepRun.Name).Order(StringComparer.Ordinal));
        Assert.All(consumers, c => Assert.Equal("values", c.Input));
    }

    [Fact]
    public async Task Equal_values_get_equal_content_hashes_and_different_values_different_ones()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p =>
        {
            p.Step(LineageSteps.Produce, 3).Named("three");
            p.Step(LineageSteps.Produce, 3).Named("three_again");
            p.Step(LineageSteps.Produce, 4).Named("four");
        }, noCache: true);

        Assert.NotEqual(result["three"].Outputs["output"].Id, result["three_again"].Outputs["output"].Id);
        Assert.Equal(result["three"].Outputs["output"].ContentHash, result["three_again"].Outputs["output"].ContentHash);
        Assert.NotEqual(result["three"].Outputs["output"].ContentHash, result["four"].Outputs["output"].ContentHash);
    }

    [Fact]
    public async Task Lineage_records_which_step_consumed_which_artifact()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p =>
        {
            var values = p.Step(LineageSteps.Produce, 2);
            p.Step(LineageSteps.Consume, values, p.Step(LineageSteps.MakePair, values), 10);
        });
        Assert.Equal("20:2:right", await result.LoadAsync<string>("consume"));

        var inputs = await home.Store.GetStepInputsAsync(result.Run.Id);
        var produced = result["produce"].Outputs["output"];

        var ofPair = Assert.Single(inputs, i => i.StepRunId == result["make_pair"].StepRunId);
        Assert.Equal("values", ofPair.Name);
        Assert.Equal(produced.Id, ofPair.Artifact.Id);

        var ofConsume = inputs.Where(i => i.StepRunId == result["consume"].StepRunId).ToDictionary(i => i.Name, i => i.Artifact.Id);
        // A parameter taking a whole record reads each of its outputs: parameter.output.
        Assert.Equal(new Dictionary<string, string>
        {
            ["values"] = produced.Id,
            ["pair.left"] = result["make_pair"].Outputs["left"].Id,
            ["pair.right"] = result["make_pair"].Outputs["right"].Id,
        }, ofConsume);
        Assert.DoesNotContain(inputs, i => i.StepRunId == result["produce"].StepRunId);

        var stepRun = await home.StepRunAsync(result, "consume");
        Assert.Contains("\"scale\":10", stepRun.ParametersJson);
        Assert.DoesNotContain("values", stepRun.ParametersJson);
    }
}
