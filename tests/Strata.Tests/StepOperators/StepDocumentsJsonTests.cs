using System.Text;
using System.Text.Json;

namespace Strata.Tests.StepOperators;

public class StepDocumentsJsonTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 29, 1, 2, 3, 456, TimeSpan.Zero);

    private static ArtifactRecord Artifact(string id) =>
        new(id, $"/store/p/r/{id}~value.txt", "System.Int32, System.Private.CoreLib", "strata.primitive", 1, "xxh128:00ff", 2, "step-run-1", "output", Created);

    private static StepManifest Manifest() => new(
        StepManifest.CurrentFormat, "pipeline", "run-id", "run \"name\"", "train", "step-run-id", 2,
        new StepMethodRef("App", null, "App.Steps", "Train", 2, "0123456789abcdef"),
        [
            new ManifestArgument("rate", true, JsonDocument.Parse("""{"a":[1,2.5,"x"],"b":null}""").RootElement.Clone(), [], false, null),
            new ManifestArgument("data", false, null, [new ManifestInput("output", Artifact("a1")), new ManifestInput("extra", Artifact("a2"))], true,
                new StepMethodRef("App", "/app/App.dll", "App.Steps", "Load", 0, "fedcba9876543210")),
        ],
        "p/r/train.abcd", "p/r/train.abcd/result.json", "p/r/train.abcd/step.log");

    [Fact]
    public void A_manifest_reads_back_as_written()
    {
        var written = Manifest();

        var read = StepManifest.FromJson(written.ToJson());

        Assert.Equal(written with { Arguments = [] }, read with { Arguments = [] });
        Assert.Equal(2, read.Arguments.Count);
        Assert.Equal("rate", read.Arguments[0].Name);
        Assert.True(read.Arguments[0].IsLiteral);
        Assert.Equal("""{"a":[1,2.5,"x"],"b":null}""", JsonSerializer.Serialize(read.Arguments[0].Literal!.Value));
        Assert.Equal([], read.Arguments[0].Inputs);
        Assert.Null(read.Arguments[0].Source);
        var data = read.Arguments[1];
        Assert.False(data.IsLiteral);
        Assert.Null(data.Literal);
        Assert.True(data.Assemble);
        Assert.Equal([("output", Artifact("a1")), ("extra", Artifact("a2"))], data.Inputs.Select(i => (i.Output, i.Artifact)));
        Assert.Equal(written.Arguments[1].Source, data.Source);
        Assert.Equal(written.ToJson(), read.ToJson());
    }

    [Fact]
    public void A_manifest_written_by_the_earlier_serializer_still_reads()
    {
        // As an orchestrator of the previous release wrote it (null literal, missing optional fields read as absent).
        var json = """
            {
              "format": 1,
              "pipeline": "pipeline",
              "run_id": "01a224cd-6bdb-74b6-911f-531ffa2e2da2",
              "run_name": "p2-0",
              "step_name": "inc_elsewhere",
              "step_run_id": "01a224cd-6bdb-7bf9-a754-db37ebf5495c",
              "attempt": 1,
              "step": {
                "assembly": "Strata.Bench",
                "assembly_path": "/work/bench/Strata.Bench.dll",
                "type": "Strata.Bench.ProcessStep",
                "method": "IncElsewhere",
                "parameter_count": 1,
                "code_version": "19ea84e2d8f40eba"
              },
              "arguments": [
                { "name": "x", "is_literal": true, "literal": 41, "inputs": [], "assemble": false, "source": null }
              ],
              "output_prefix": "pipeline/p2-0/inc_elsewhere.ebf5495c",
              "result_path": "pipeline/p2-0/inc_elsewhere.ebf5495c/result.json",
              "log_path": "pipeline/p2-0/inc_elsewhere.ebf5495c/step.log"
            }
            """;

        var manifest = StepManifest.FromJson(Encoding.UTF8.GetBytes(json));

        Assert.Equal("inc_elsewhere", manifest.StepName);
        Assert.Equal(new StepMethodRef("Strata.Bench", "/work/bench/Strata.Bench.dll", "Strata.Bench.ProcessStep", "IncElsewhere", 1, "19ea84e2d8f40eba"), manifest.Step);
        Assert.Equal(41, manifest.Arguments.Single().Literal!.Value.GetInt32());
        Assert.Equal("pipeline/p2-0/inc_elsewhere.ebf5495c/result.json", manifest.ResultPath);
    }

    [Fact]
    public void A_manifest_from_a_newer_release_or_not_an_object_is_refused_by_name()
    {
        var newer = Manifest() with { Format = StepManifest.CurrentFormat + 1 };
        Assert.Contains("newer than this Strata understands", Assert.Throws<StrataConfigException>(() => StepManifest.FromJson(newer.ToJson())).Message);
        Assert.Contains("not a JSON object", Assert.Throws<StrataConfigException>(() => StepManifest.FromJson("[1]"u8.ToArray())).Message);
        Assert.ThrowsAny<JsonException>(() => StepManifest.FromJson("{\"format\":"u8.ToArray()));
    }

    [Fact]
    public void A_result_record_reads_back_as_written_times_to_the_tick()
    {
        var started = new DateTimeOffset(2026, 11, 29, 1, 2, 3, TimeSpan.FromHours(2)).AddTicks(1234567);
        var completed = new StepResultRecord(StepResultRecord.Completed, null, null, null, started, started.AddMilliseconds(12.3456),
            [Artifact("a1"), Artifact("a2")], "p/r/s/step.log", "host-1", 4242);
        var failed = completed with { Status = StepResultRecord.Failed, ErrorType = "System.InvalidOperationException", ErrorMessage = "bad \"input\"\nline 2 é", StackTrace = "at X()", Outputs = [] };

        foreach (var written in new[] { completed, failed })
        {
            var read = StepResultRecord.FromJson(written.ToJson());
            Assert.Equal(written with { Outputs = [] }, read with { Outputs = [] });
            Assert.Equal(written.Outputs, read.Outputs);
            Assert.Equal(written.StartedAt.Offset, read.StartedAt.Offset);
        }
    }

    [Fact]
    public void A_store_locator_travels_on_one_line_and_reads_back()
    {
        var locator = new ArtifactStoreLocator("s3", new Dictionary<string, string> { ["bucket"] = "b", ["prefix"] = "a \"quoted\" é/path", ["endpoint"] = "" });

        var json = locator.ToJson();
        var read = ArtifactStoreLocator.FromJson(json);

        Assert.DoesNotContain('\n', json);
        Assert.Equal("s3", read.Flavor);
        Assert.Equal(locator.Config.OrderBy(e => e.Key), read.Config.OrderBy(e => e.Key));
    }

    [Fact]
    public void A_hand_off_reads_back_as_written_and_one_without_a_manifest_is_refused()
    {
        var handoff = new StepHandoff("file:///s/p/r/manifest \"quoted\" é.json");

        var read = StepHandoff.FromJson(handoff.ToJson());

        Assert.Equal(handoff.ManifestUri, read.ManifestUri);
        var e = Assert.Throws<StrataConfigException>(() => StepHandoff.FromJson("{}"u8.ToArray()));
        Assert.Contains("manifest_uri", e.Message);
    }

    [Fact]
    public void Only_a_step_command_of_the_entrypoint_shape_has_a_standby_form()
    {
        const string uri = "file:///s/manifest.json";

        Assert.Equal(["dotnet", "App.dll", "strata-step", "--standby"], StrataEntrypoint.StandbyCommand(["dotnet", "App.dll", "strata-step", "--manifest", uri], uri));
        Assert.Null(StrataEntrypoint.StandbyCommand(["dotnet", "App.dll", "strata-step", "--manifest", "file:///other.json"], uri));
        Assert.Null(StrataEntrypoint.StandbyCommand(["python", "run.py", uri], uri));
    }
}
