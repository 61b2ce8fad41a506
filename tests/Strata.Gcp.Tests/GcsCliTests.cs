using System.Text.Json;

namespace Strata.Gcp.Tests;

/// <summary>The Quickstart with the real <c>strata</c> command on a stack whose artifact store is gcs, against the emulator.</summary>
[Collection(GcsCollection.Name)]
public sealed class GcsCliTests(GcsServer server) : IDisposable
{
    private readonly TempDirectory _temp = new("strata-gcs-cli");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_quickstart_runs_and_then_hits_the_cache_on_a_gcs_store_from_the_command_line()
    {
        var quickstart = RepoPaths.QuickstartDll();
        var config = server.NewBucketConfig("strata");

        Ok("artifact-store", "register", "lake", "--flavor=gcs", $"--path={config.Path}", $"--endpoint_url={config.EndpointUrl}");
        Ok("step-operator", "register", "lp", "--flavor=local-process");
        Ok("stack", "register", "gcp", "-o", "default", "-a", "lake", "-s", "lp", "--set");

        var first = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);
        var second = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);

        Assert.Contains("✓ train completed", first.Out, StringComparison.Ordinal);
        Assert.Contains("4 cached", second.Out, StringComparison.Ordinal);
        var runs = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().ToArray();
        var id = runs.Select(r => r.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).First();
        var show = JsonDocument.Parse(Ok("run", "show", id, "--output", "json").Out).RootElement;
        var train = show.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "train");
        var uri = train.GetProperty("outputs")[0].GetProperty("uri").GetString()!;
        Assert.StartsWith(config.Path + "/", uri, StringComparison.Ordinal);
        var bucket = config.Path["gs://".Length..].Split('/')[0];
        var name = uri["gs://".Length..][(bucket.Length + 1)..];
        Assert.Contains(name + "/.strata/commit.json", server.Emulator.ObjectNames(bucket, name));
    }

    private (int ExitCode, string Out, string Error) Ok(params string[] args)
    {
        var result = StrataProcess.Run(_temp.Path, _temp.Combine("home"), null, args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Item2}\n{result.Item3}");
        return result;
    }
}
