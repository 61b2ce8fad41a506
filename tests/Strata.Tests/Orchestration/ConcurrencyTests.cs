namespace Strata.Tests.Orchestration;

public static class ConcurrencySteps
{
    /// <summary>Signals that it started, then waits for its partner to start: completes only when both run at once.</summary>
    [Step]
    public static async Task<string> Rendezvous(string testId, string me, string partner)
    {
        Probe.Signal(testId, me).TrySetResult();
        await Probe.WaitAsync(testId, partner);
        return me;
    }

    /// <summary>Records when it enters and leaves, and how many of its kind run at the same moment.</summary>
    [Step]
    public static async Task<string> Exclusive(string testId, string me)
    {
        var running = Probe.Hit(testId, "running") - Probe.Count(testId, "left");
        Probe.Record(testId, $"enter {me}");
        if (running > 1) Probe.Record(testId, $"overlap {me}");
        // Give a second step, if the orchestrator wrongly started one, the chance to enter meanwhile.
        await Task.Delay(20);
        Probe.Record(testId, $"exit {me}");
        Probe.Hit(testId, "left");
        return me;
    }

    [Step]
    public static int Source(string testId) => testId.Length;

    [Step]
    public static string After(int _, string me) => me;
}

public class ConcurrencyTests
{
    [Fact]
    public async Task Independent_steps_run_at_the_same_time()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            p.Step(ConcurrencySteps.Rendezvous, id, "a", "b").Named("a");
            p.Step(ConcurrencySteps.Rendezvous, id, "b", "a").Named("b");
        }, maxParallelism: 2);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => s.Error)));
        Assert.Equal("a", await result.LoadAsync<string>("a"));
        Assert.Equal("b", await result.LoadAsync<string>("b"));
    }

    [Fact]
    public async Task Steps_that_share_an_upstream_run_at_the_same_time_after_it()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            var source = p.Step(ConcurrencySteps.Source, id);
            var a = p.Step(ConcurrencySteps.Rendezvous, id, "a", "b").Named("a");
            var b = p.Step(ConcurrencySteps.Rendezvous, id, "b", "a").Named("b");
            p.Step(ConcurrencySteps.After, source, a).Named("after_a");
            p.Step(ConcurrencySteps.After, source, b).Named("after_b");
        }, maxParallelism: 4);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => s.Error)));
        Assert.Equal("a", await result.LoadAsync<string>("after_a"));
    }

    [Fact]
    public async Task With_max_parallelism_one_steps_never_overlap()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            foreach (var name in new[] { "a", "b", "c", "d" })
                p.Step(ConcurrencySteps.Exclusive, id, name).Named(name);
        }, maxParallelism: 1);

        Assert.True(result.Succeeded);
        AssertSequential(Probe.EventsOf(id), 4);
    }

    [Fact]
    public async Task The_orchestrator_config_sets_max_parallelism_when_the_run_does_not()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        await home.Client.Stacks.UpdateComponentAsync(ComponentType.Orchestrator, StackManager.DefaultStack,
            new Dictionary<string, string> { ["max_parallelism"] = "1" });

        var result = await home.RunAsync(p =>
        {
            foreach (var name in new[] { "a", "b", "c" })
                p.Step(ConcurrencySteps.Exclusive, id, name).Named(name);
        });

        Assert.True(result.Succeeded);
        AssertSequential(Probe.EventsOf(id), 3);
    }

    private static void AssertSequential(IReadOnlyList<string> events, int steps)
    {
        Assert.DoesNotContain(events, e => e.StartsWith("overlap", StringComparison.Ordinal));
        Assert.Equal(2 * steps, events.Count);
        for (var i = 0; i < events.Count; i += 2)
        {
            Assert.StartsWith("enter ", events[i]);
            Assert.Equal("exit " + events[i]["enter ".Length..], events[i + 1]);
        }
    }
}
