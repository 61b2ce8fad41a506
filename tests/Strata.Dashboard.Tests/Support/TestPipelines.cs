namespace Strata.Dashboard.Tests.Support;

/// <summary>Pipelines the dashboard tests run for real, in process: one that fails (printing markup), one held open by a gate.</summary>
public static class Demo
{
    [Step]
    public static int Load(int n)
    {
        Console.WriteLine($"loading {n} rows");
        return n;
    }

    [Step]
    public static int Train(int rows)
    {
        Console.WriteLine($"training on {rows} rows");
        Console.WriteLine("epoch 1 loss=0.42");
        return rows * 2;
    }

    [Step]
    public static string Evaluate(int model) => $"accuracy={model / 100.0}";

    /// <summary>Prints markup and fails with markup in its message: the pages must show it as text and run nothing.</summary>
    [Step]
    public static int Inject(int rows)
    {
        Console.WriteLine("<script>window.__injected = 1</script>");
        Console.WriteLine("<img src=x onerror=\"window.__injected = 2\">");
        throw new InvalidOperationException($"bad <b>row</b> {rows} <img src=x onerror=\"window.__injected = 3\">");
    }

    [Step]
    public static int Report(int injected) => injected;

    [Pipeline(Name = "demo")]
    public static void Build(PipelineBuilder p)
    {
        var data = p.Step(Load, 300);
        p.Step(Evaluate, p.Step(Train, data));
        p.Step(Report, p.Step(Inject, data));
    }
}

/// <summary>A pipeline whose middle step waits for the test to open <see cref="Gate"/> (or for the run to be cancelled).</summary>
public static class Gated
{
    public static TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Step]
    public static int First() => 1;

    [Step(EnableCache = false)]
    public static async Task<int> Wait(int x)
    {
        Console.WriteLine("waiting for the gate");
        await Gate.Task.WaitAsync(StepContext.Current!.CancellationToken);
        Console.WriteLine("the gate opened");
        return x + 1;
    }

    [Step(EnableCache = false)]
    public static int Last(int x) => x;

    [Pipeline(Name = "gated")]
    public static void Build(PipelineBuilder p) => p.Step(Last, p.Step(Wait, p.Step(First)));
}

/// <summary>A fan-out wider than the graph draws step by step, one step failing.</summary>
public static class Wide
{
    public const int Steps = 60;

    [Step]
    public static int Square(int x) => x == 7 ? throw new InvalidOperationException("7 is not allowed") : x * x;

    [Pipeline(Name = "wide")]
    public static void Build(PipelineBuilder p)
    {
        for (var i = 0; i < Steps; i++) p.Step(Square, i);
    }
}
