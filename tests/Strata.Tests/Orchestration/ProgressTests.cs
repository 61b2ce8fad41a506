using Microsoft.Extensions.Time.Testing;

namespace Strata.Tests.Orchestration;

public static class ProgressSteps
{
    [Step(EnableCache = false)]
    public static int Square(int x) => x == 13 ? throw new InvalidOperationException("13 is unlucky") : x * x;

    public static Action<PipelineBuilder> Wide(int steps) => p =>
    {
        for (var i = 0; i < steps; i++) p.Step(Square, i);
    };
}

public class ProgressTests
{
    private static string[] Lines(StringWriter output) => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task A_large_run_shows_a_progress_line_and_its_failing_step_not_a_line_per_change()
    {
        await using var home = await TestHome.OpenAsync();
        var output = new StringWriter();
        // The clock stands still: the progress line is written once, on the first change, and is not due again.
        var reporter = new ConsoleRunReporter(output) { TimeProvider = new FakeTimeProvider(), Interactive = false };

        var result = await home.RunAsync(ProgressSteps.Wide(500), observer: reporter);

        Assert.False(result.Succeeded);
        var lines = Lines(output);
        Assert.Contains("500 step(s) (progress is summarised; failing steps are named)", lines[0]);
        Assert.Single(lines, l => l.Contains("/500] ", StringComparison.Ordinal));
        var failed = Assert.Single(lines, l => l.Contains('✗'));
        Assert.Contains("13 is unlucky", failed);
        Assert.Contains(lines, l => l.StartsWith($"Run {result.Run.Name} failed in ", StringComparison.Ordinal) && l.EndsWith("499 completed, 1 failed"));
        Assert.DoesNotContain(lines, l => l.Contains('▶') || l.Contains('✓')); // no line per start or end
    }

    [Fact]
    public async Task The_progress_line_is_written_as_often_as_its_interval_allows()
    {
        await using var home = await TestHome.OpenAsync();
        var output = new StringWriter();
        var reporter = new ConsoleRunReporter(output) { TimeProvider = new FakeTimeProvider(), Interactive = false, SummaryInterval = TimeSpan.Zero };

        await home.RunAsync(ProgressSteps.Wide(200), observer: reporter);

        // Every change is due at once: a progress line for each start and each end, counts growing to the whole run.
        var progress = Lines(output).Where(l => l.Contains("/200] ", StringComparison.Ordinal)).ToArray();
        Assert.True(progress.Length >= 300, $"{progress.Length} progress lines");
        Assert.Contains(progress, l => l.Contains("[200/200] 199 completed, 1 failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_a_terminal_the_progress_line_is_redrawn_in_place_and_gives_way_to_other_lines()
    {
        await using var home = await TestHome.OpenAsync();
        var output = new StringWriter();
        var reporter = new ConsoleRunReporter(output) { TimeProvider = new FakeTimeProvider(), Interactive = true };

        var result = await home.RunAsync(ProgressSteps.Wide(150), observer: reporter);

        var text = output.ToString();
        Assert.Contains("\r\u001b[K  [", text); // drawn in place
        // Another line (the failure, the step's log) clears the progress line first: a progress line never ends a line itself.
        Assert.DoesNotMatch(@"/150\] [^\r\n]*\n", text);
        Assert.Contains("  ✗ ", text);
        Assert.EndsWith($"{result.Steps.Count(s => s.Status == ExecutionStatus.Completed)} completed, 1 failed{Environment.NewLine}" +
            $"  {result.Steps.Single(s => s.Status == ExecutionStatus.Failed).Name} failed: {result.Steps.Single(s => s.Status == ExecutionStatus.Failed).Error}" +
            Environment.NewLine, text);
    }

    [Fact]
    public async Task A_run_up_to_the_threshold_is_shown_step_by_step()
    {
        await using var home = await TestHome.OpenAsync();
        var output = new StringWriter();

        await home.RunAsync(ProgressSteps.Wide(20), observer: new ConsoleRunReporter(output) { Interactive = false });

        var lines = Lines(output);
        Assert.DoesNotContain(lines, l => l.Contains("summarised", StringComparison.Ordinal));
        Assert.Equal(19, lines.Count(l => l.Contains(" completed (", StringComparison.Ordinal)));
        Assert.Equal(20, lines.Count(l => l.Contains(" running", StringComparison.Ordinal)));
    }
}
