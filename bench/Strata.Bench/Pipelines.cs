namespace Strata.Bench;

/// <summary>The trivial steps and graph shapes the benchmarks run; bench/dask_baseline.py builds the same shapes.</summary>
public static class BenchSteps
{
    [Step]
    public static int Inc(int x) => x + 1;

    [Step]
    public static int Add(int a, int b) => a + b;

    /// <summary>inc(0) → inc → … : <paramref name="steps"/> steps, each reading the one before. The last output is <paramref name="steps"/>.</summary>
    public static Action<PipelineBuilder> Chain(int steps) => p =>
    {
        var x = p.Step(Inc, 0);
        for (var i = 1; i < steps; i++)
            x = p.Step(Inc, x);
    };

    /// <summary>One source step and <paramref name="steps"/> − 1 steps that all read it.</summary>
    public static Action<PipelineBuilder> FanOut(int steps) => p =>
    {
        var source = p.Step(Inc, 0);
        for (var i = 1; i < steps; i++)
            p.Step(Inc, source);
    };

    /// <summary>
    /// One source, <paramref name="steps"/>/2 parallel steps reading it, and a binary tree of <paramref name="steps"/>/2 − 1
    /// two-input sums back to one value: <paramref name="steps"/> steps in all; the last output is <paramref name="steps"/>.
    /// </summary>
    public static Action<PipelineBuilder> FanOutFanIn(int steps) => p =>
    {
        if (steps < 4 || steps % 2 != 0) throw new ArgumentOutOfRangeException(nameof(steps), "an even number of at least 4");
        var source = p.Step(Inc, 0);
        var level = new List<StepOutput<int>>();
        for (var i = 0; i < steps / 2; i++)
            level.Add(p.Step(Inc, source));
        while (level.Count > 1)
        {
            var next = new List<StepOutput<int>>();
            for (var i = 0; i + 1 < level.Count; i += 2)
                next.Add(p.Step(Add, level[i], level[i + 1]));
            if (level.Count % 2 == 1) next.Add(level[^1]);
            level = next;
        }
    };

    /// <summary>
    /// <see cref="FanOutFanIn"/> at 100,000 steps as a named method, so that a run of it can be resumed from its record (the
    /// crash-and-resume figure of the benchmarks).
    /// </summary>
    public static void Scale(PipelineBuilder p) => FanOutFanIn(100_000)(p);

    public static Action<PipelineBuilder> Shape(string shape, int steps) => shape switch
    {
        "chain" => Chain(steps),
        "fanout" => FanOut(steps),
        "fanout_fanin" => FanOutFanIn(steps),
        _ => throw new ArgumentException($"unknown shape '{shape}'", nameof(shape)),
    };
}
