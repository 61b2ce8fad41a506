using Microsoft.Extensions.Time.Testing;

namespace Strata.Tests.StepOperators;

/// <summary>The answers about a job that a cloud operator's status polls and log stream share.</summary>
public sealed class RecentAnswersTests
{
    [Fact]
    public async Task An_answer_is_reused_while_younger_than_the_age_asked_for_and_per_job()
    {
        var time = new FakeTimeProvider();
        var answers = new RecentAnswers<string>(time);
        var asked = new List<string>();
        Task<string> Ask(string job) => answers.GetAsync(job, TimeSpan.FromSeconds(2), _ =>
        {
            asked.Add(job);
            return Task.FromResult($"{job}@{asked.Count}");
        });

        Assert.Equal("a@1", await Ask("a"));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a@1", await Ask("a"));
        Assert.Equal("b@2", await Ask("b"));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a@3", await Ask("a"));
        // Age zero always asks, and its answer serves the next caller that accepts an older one.
        Assert.Equal("a@4", await answers.GetAsync("a", TimeSpan.Zero, _ => { asked.Add("a"); return Task.FromResult("a@4"); }));
        Assert.Equal("a@4", await Ask("a"));
        Assert.Equal(["a", "b", "a", "a"], asked);
    }

    [Fact]
    public async Task A_forgotten_job_is_asked_again_and_a_failed_question_keeps_nothing()
    {
        var time = new FakeTimeProvider();
        var answers = new RecentAnswers<int>(time);
        var calls = 0;
        Task<int> Ask() => answers.GetAsync("job", TimeSpan.FromMinutes(1), _ => Task.FromResult(++calls));

        Assert.Equal(1, await Ask());
        Assert.Equal(1, await Ask());
        answers.Forget("job");
        Assert.Equal(2, await Ask());

        answers.Forget("job");
        await Assert.ThrowsAsync<HttpRequestException>(() => answers.GetAsync("job", TimeSpan.FromMinutes(1),
            _ => Task.FromException<int>(new HttpRequestException("throttled"))));
        Assert.Equal(3, await Ask());
    }
}
