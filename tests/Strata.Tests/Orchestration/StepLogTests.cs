using Microsoft.Extensions.Logging;

namespace Strata.Tests.Orchestration;

public static class LoggingSteps
{
    /// <summary>Writes lines to stdout, stderr and its logger, taking turns with its partner so the writes interleave.</summary>
    [Step]
    public static async Task<int> Chatty(string testId, string me, string partner)
    {
        for (var i = 0; i < 3; i++)
        {
            Console.WriteLine($"out {me} {i}");
            Console.Error.WriteLine($"err {me} {i}");
            StepContext.Current!.Logger.LogInformation("logged {Who} {Index}", me, i);
            Probe.Signal(testId, $"{me}{i}").TrySetResult();
            await Probe.WaitAsync(testId, $"{partner}{i}");
        }
        Console.Write($"partial {me}");
        return 0;
    }

    [Step]
    public static int Quiet(int x) => x;
}

public class StepLogTests
{
    [Fact]
    public async Task Console_output_and_logger_messages_of_concurrent_steps_are_stored_with_each_step()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        var observer = new RecordingObserver();

        var result = await home.RunAsync(p =>
        {
            p.Step(LoggingSteps.Chatty, id, "a", "b").Named("a");
            p.Step(LoggingSteps.Chatty, id, "b", "a").Named("b");
        }, maxParallelism: 2, observer: observer);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => s.Error)));
        foreach (var (me, other) in new[] { ("a", "b"), ("b", "a") })
        {
            var log = await home.Store.GetStepLogAsync(result[me].StepRunId!);
            Assert.NotNull(log);
            for (var i = 0; i < 3; i++)
            {
                Assert.Contains($"out {me} {i}\n", log);
                Assert.Contains($"err {me} {i}\n", log);
                Assert.Contains($"info: logged {me} {i}\n", log);
            }
            Assert.EndsWith($"partial {me}", log);
            Assert.DoesNotContain($" {other} ", log);
            Assert.Contains(observer.Lines, l => l.Step == me && l.Line == $"out {me} 2");
            Assert.Contains(observer.Lines, l => l.Step == me && l.Line == $"partial {me}");
            Assert.DoesNotContain(observer.Lines, l => l.Step == me && l.Line.Contains($" {other} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_step_that_writes_nothing_has_no_log()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(LoggingSteps.Quiet, 1));

        Assert.Null(await home.Store.GetStepLogAsync(result["quiet"].StepRunId!));
    }
}
