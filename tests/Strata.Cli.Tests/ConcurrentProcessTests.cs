using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>Several `strata` processes on one fresh SQLite store at once: no lost writes, no "database is locked".</summary>
public sealed class ConcurrentProcessTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Processes_registering_at_once_all_land_and_create_one_default_stack()
    {
        const int processes = 8;
        var results = await Task.WhenAll(Enumerable.Range(0, processes).Select(i =>
            Task.Run(() => _cli.Run("artifact-store", "register", $"store{i}", "--flavor=local", $"--path={_cli.Combine($"s{i}")}"))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var names = _cli.Run("artifact-store", "list", "--output", "json").Json.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
        for (var i = 0; i < processes; i++) Assert.Contains($"store{i}", names);
        Assert.Single(_cli.Run("stack", "list", "--output", "json").Json.EnumerateArray());
    }

    [Fact]
    public async Task Pipeline_runs_in_parallel_processes_are_all_recorded()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Task.Run(() => _cli.Run("pipeline", "run", "arithmetic", "--no-cache", "--run-name", $"parallel-{i}", "--assembly", StrataCli.SamplePipelinesDll))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var runs = _cli.Run("run", "list", "--output", "json").Json.EnumerateArray().ToArray();
        Assert.Equal(4, runs.Length);
        foreach (var run in runs)
        {
            var steps = _cli.Run("run", "show", run.GetProperty("id").GetString()!, "--output", "json").Json.GetProperty("steps").EnumerateArray().ToArray();
            Assert.Equal(4, steps.Length);
            Assert.All(steps, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        }
    }
}
