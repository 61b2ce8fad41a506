using System.Text.Json;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary><c>strata gc</c> run for real: each kind of leftover found and removed, a dry run, a running run left alone.</summary>
public sealed class GcCommandTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private string Artifacts => Path.Combine(_cli.Home, "artifacts");

    private static void WriteFile(string path, int bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[bytes]);
    }

    private string StepRunId(string run, string step) =>
        _cli.Run("run", "show", run, "--output", "json").Json.GetProperty("steps").EnumerateArray()
            .First(s => s.GetProperty("name").GetString() == step).GetProperty("id").GetString()!;

    [Fact]
    public async Task Gc_finds_and_removes_each_kind_of_leftover_of_a_finished_run_and_a_dry_run_removes_nothing()
    {
        var run = _cli.Run("pipeline", "run", "arithmetic", "--run-name", "done", "--assembly", StrataCli.SamplePipelinesDll);
        Assert.True(run.ExitCode == 0, run.ToString());

        var workDir = Path.Combine(_cli.Home, "steps", StepRunId("done", "sum"));
        WriteFile(Path.Combine(workDir, "stdout"), 1000);
        var standby = Path.Combine(_cli.Home, "steps", "standby-0123456789abcdef");
        WriteFile(Path.Combine(standby, "exit_code"), 2);
        var tempDir = Path.Combine(Artifacts, ".tmp", "5f0c3a7e9b2d4c61a8e0f1d2c3b4a596");
        WriteFile(Path.Combine(tempDir, "data.bin"), 2000);
        var tempFile = Path.Combine(Artifacts, "arithmetic", "done", ".sum.1234abcd.output~value.txt.0a1b2c3d4e5f60718293a4b5c6d7e8f9.tmp");
        WriteFile(tempFile, 3);
        var orphan = Path.Combine(Artifacts, "arithmetic", "done", "split.89abcdef.test");
        WriteFile(Path.Combine(orphan, "data.bin"), 4000);
        // A pack of small artifacts none of which a record names (a writer that died before recording its step), beside the run's own.
        var runDirectory = Path.Combine(Artifacts, "arithmetic", "done");
        var packs = Directory.GetFiles(runDirectory, ".pack-*");
        Assert.NotEmpty(packs);
        await new LocalArtifactStore(Artifacts).WriteFileAsync("arithmetic/done/sum.76543210.output~value.txt", new byte[50]);
        var orphanPack = Assert.Single(Directory.GetFiles(runDirectory, ".pack-*").Except(packs));
        var expected = new Dictionary<string, string>
        {
            [workDir] = "working-directory", [standby] = "standby", [tempDir] = "temp-artifact", [tempFile] = "temp-artifact", [orphan] = "orphaned-artifact",
            [orphanPack] = "orphaned-artifact",
        };

        var dry = _cli.Run("gc", "--dry-run", "--output", "json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var json = dry.Json;
        Assert.Equal(["bytes", "count", "dry_run", "failures", "items"], json.EnumerateObject().Select(p => p.Name).Order());
        Assert.True(json.GetProperty("dry_run").GetBoolean());
        var items = json.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(expected, items.ToDictionary(i => i.GetProperty("path").GetString()!, i => i.GetProperty("kind").GetString()!));
        Assert.All(items, i => Assert.Equal(["bytes", "kind", "path", "reason"], i.EnumerateObject().Select(p => p.Name).Order()));
        Assert.Equal(6, json.GetProperty("count").GetInt32());
        Assert.Equal(1000 + 2 + 2000 + 3 + 4000 + new FileInfo(orphanPack).Length, json.GetProperty("bytes").GetInt64());
        Assert.Equal(4000, items.Single(i => i.GetProperty("path").GetString() == orphan).GetProperty("bytes").GetInt64());
        Assert.All(expected.Keys, p => Assert.True(Path.Exists(p), $"a dry run removed {p}"));

        var dryText = _cli.Run("gc", "--dry-run");
        Assert.Contains("Dry run: would remove 6 items, 0.0 MiB (nothing removed).", dryText.Out);
        Assert.Contains(orphan, dryText.Out);

        var gc = _cli.Run("gc");
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Contains("Removed 6 items, 0.0 MiB freed.", gc.Out);
        Assert.All(expected.Keys, p => Assert.False(Path.Exists(p), $"{p} is still there"));
        Assert.All(packs, p => Assert.True(File.Exists(p), $"gc removed {p}, which holds recorded artifacts"));

        // What the records name stays: the same pipeline again is served from the cache, its artifacts checked as they load.
        var again = _cli.Run("pipeline", "run", "arithmetic", "--assembly", StrataCli.SamplePipelinesDll);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("4 cached", again.Out);
        var nothing = _cli.Run("gc", "--output", "json").Json;
        Assert.Equal(0, nothing.GetProperty("count").GetInt32());
        Assert.False(nothing.GetProperty("dry_run").GetBoolean());
        Assert.Contains("Removed 0 items, 0.0 MiB freed.", _cli.Run("gc").Out);
    }

    [Fact]
    public async Task Gc_never_touches_the_files_of_a_run_that_is_still_running()
    {
        var release = _cli.Combine("release");
        var running = Task.Run(() => _cli.RunIn(_cli.WorkingDirectory,
            new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home, ["SAMPLE_RELEASE_FILE"] = release },
            "pipeline", "run", "held", "--run-name", "live", "--assembly", StrataCli.SamplePipelinesDll));
        try
        {
            string? stepRunId = null;
            for (var i = 0; i < 600 && stepRunId is null; i++)
            {
                var show = _cli.Run("run", "show", "live", "--output", "json");
                if (show.ExitCode == 0 && show.Json.GetProperty("steps").EnumerateArray()
                        .FirstOrDefault(s => s.GetProperty("status").GetString() == "running") is { ValueKind: JsonValueKind.Object } step)
                    stepRunId = step.GetProperty("id").GetString();
                else await Task.Delay(100);
                if (running.IsCompleted) Assert.Fail((await running).ToString());
            }
            Assert.NotNull(stepRunId);

            var workDir = Path.Combine(_cli.Home, "steps", stepRunId);
            WriteFile(Path.Combine(workDir, "stdout"), 100);
            var tempDir = Path.Combine(Artifacts, ".tmp", "0f0c3a7e9b2d4c61a8e0f1d2c3b4a596");
            WriteFile(Path.Combine(tempDir, "data.bin"), 100);
            var unrecorded = Path.Combine(Artifacts, "held", "live", $"hold.{stepRunId[^8..]}.output");
            WriteFile(Path.Combine(unrecorded, "data.bin"), 100);
            string[] paths = [workDir, tempDir, unrecorded];

            var dry = _cli.Run("gc", "--dry-run", "--output", "json");
            Assert.True(dry.ExitCode == 0, dry.ToString());
            Assert.Empty(dry.Json.GetProperty("items").EnumerateArray());
            var gc = _cli.Run("gc");
            Assert.True(gc.ExitCode == 0, gc.ToString());
            Assert.Contains("Removed 0 items", gc.Out);
            Assert.All(paths, p => Assert.True(Path.Exists(p), $"gc removed {p} of a running run"));

            await File.WriteAllTextAsync(release, "");
            var finished = await running;
            Assert.True(finished.ExitCode == 0, finished.ToString());

            // Once the run is over, what it left (and what no record names) goes; its recorded output stays.
            var after = _cli.Run("gc", "--output", "json").Json.GetProperty("items").EnumerateArray()
                .Select(i => i.GetProperty("path").GetString()).ToArray();
            Assert.Equal(paths.Order(), after.Order());
            Assert.Single(Directory.EnumerateFileSystemEntries(Path.Combine(Artifacts, "held", "live")));
        }
        finally
        {
            await File.WriteAllTextAsync(release, "");
            await running;
        }
    }
}
