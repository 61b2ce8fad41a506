using Strata;

namespace SamplePipelines;

/// <summary>Small pipelines with known outcomes, for tests that drive the strata command line.</summary>
public static class Arithmetic
{
    [Step]
    public static int[] Numbers(int count)
    {
        Console.WriteLine($"making {count} numbers");
        return Enumerable.Range(1, count).ToArray();
    }

    [Step]
    public static long Sum(int[] numbers)
    {
        Console.WriteLine($"summing {numbers.Length} numbers");
        return numbers.Sum(n => (long)n);
    }

    [Step]
    public static double Mean(int[] numbers) => numbers.Average();

    [Step]
    public static string Report(long sum, double mean) => $"sum={sum} mean={mean}";

    [Pipeline]
    public static void Build(PipelineBuilder p)
    {
        var numbers = p.Step(Numbers, 10);
        p.Step(Report, p.Step(Sum, numbers), p.Step(Mean, numbers));
    }
}

public static class Failing
{
    [Step]
    public static int Source() => 1;

    [Step]
    public static int Explode(int x)
    {
        Console.WriteLine("about to fail");
        throw new InvalidOperationException($"explode got {x}");
    }

    [Step]
    public static int After(int x) => x + 1;

    [Step]
    public static int Independent(int x) => x * 2;

    [Pipeline(Name = "failing")]
    public static void Build(PipelineBuilder p)
    {
        var source = p.Step(Source);
        p.Step(After, p.Step(Explode, source));
        p.Step(Independent, source);
    }
}

public static class Miswired
{
    [Step]
    public static int One() => 1;

    [Pipeline(Name = "miswired")]
    public static void Build(PipelineBuilder p)
    {
        p.Step(One);
        p.Step(One).Named("one");
    }
}

/// <summary>More steps than `strata run show` lists by default, one of them failing late in the run.</summary>
public static class Wide
{
    public const int Steps = 60;
    public const int Failing = 57;

    [Step]
    public static int Square(int x) => x == Failing ? throw new InvalidOperationException($"{x} is not allowed") : x * x;

    [Pipeline(Name = "wide")]
    public static void Build(PipelineBuilder p)
    {
        for (var i = 0; i < Steps; i++) p.Step(Square, i);
    }
}

/// <summary>A step with two outputs of 300 KiB each, for a store with room for one: the second cannot be written.</summary>
public static class Bulky
{
    public const int OutputBytes = 300 * 1024;

    [Step]
    public static (byte[] Train, byte[] Test) Split(int seed)
    {
        var train = new byte[OutputBytes];
        var test = new byte[OutputBytes];
        for (var i = 0; i < OutputBytes; i++)
        {
            train[i] = (byte)(i * 31 + seed);
            test[i] = (byte)(i * 17 + seed);
        }
        return (train, test);
    }

    [Step]
    public static int Train(byte[] train) => train.Length;

    [Pipeline(Name = "bulky")]
    public static void Build(PipelineBuilder p)
    {
        var (train, _) = p.Step(Split, 7);
        p.Step(Train, train);
    }
}

/// <summary>A step that runs until the file named by SAMPLE_RELEASE_FILE exists (at most two minutes): a run that is still running.</summary>
public static class Held
{
    [Step]
    public static int Hold(int x)
    {
        var release = Environment.GetEnvironmentVariable("SAMPLE_RELEASE_FILE");
        for (var waited = 0; release is not null && !File.Exists(release) && waited < 120_000; waited += 50) Thread.Sleep(50);
        return x;
    }

    [Pipeline(Name = "held")]
    public static void Build(PipelineBuilder p) => p.Step(Hold, 1);
}

/// <summary>
/// A step on the stack's default step operator that prints, waits until the file named by <c>STRATA_TEST_GATE</c> exists (set it in
/// the operator's <c>environment</c>), then prints again: its log can be followed while it runs.
/// </summary>
public static class Tailed
{
    public const string GateVariable = "STRATA_TEST_GATE";

    [Step(StepOperator = StepOperatorNames.Default, EnableCache = false)]
    public static async Task<int> Follow()
    {
        Console.WriteLine("before the gate: line 1");
        Console.WriteLine("before the gate: line 2");
        var gate = Environment.GetEnvironmentVariable(GateVariable) ?? throw new InvalidOperationException($"{GateVariable} is not set");
        while (!File.Exists(gate)) await Task.Delay(TimeSpan.FromMilliseconds(100), StepContext.Current!.CancellationToken);
        Console.WriteLine("after the gate");
        return 1;
    }

    [Pipeline(Name = "tailed")]
    public static void Build(PipelineBuilder p) => p.Step(Follow);
}
