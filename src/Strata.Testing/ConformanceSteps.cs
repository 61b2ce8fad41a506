using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Strata.Testing;

/// <summary>
/// The steps the conformance cases run. Those on the stack's step operator run in its jobs through the step entrypoint,
/// which loads this assembly by its path; they use nothing but the BCL and Strata. A step that waits for the test
/// (<c>release</c>) goes on when the file appears, or after a bound when the job cannot see the test's files.
/// </summary>
internal static class ConformanceSteps
{
    public const string Multibyte = "é ✓ 模型 🚀";
    public const string SecretName = "conformance";
    public const string SecretVariable = "CONFORMANCE_TOKEN";
    private static readonly TimeSpan ReleaseBound = TimeSpan.FromSeconds(20);

    [Step]
    public static int[] Numbers(int count) => Enumerable.Range(1, count).ToArray();

    [Step(StepOperator = StepOperatorNames.Default)]
    public static (long Sum, string Label, double Mean, int[] Doubled) Summarize(int[] numbers, string label)
    {
        Console.WriteLine($"summarizing {numbers.Length} numbers");
        return (numbers.Sum(n => (long)n), $"{label} {Multibyte}", numbers.Average(), numbers.Select(n => n * 2).ToArray());
    }

    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Explode(int x)
    {
        for (var i = 1; i <= 3; i++) Console.WriteLine($"preparing part {i} of {x}");
        throw new InvalidDataException($"conformance boom {x}");
    }

    /// <summary>Prints a line, then dies by SIGKILL as the out-of-memory killer would end it: no result, exit code 137.</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Killed(int x)
    {
        Console.WriteLine($"about to be killed ({x})");
        Console.Out.Flush();
        Thread.Sleep(200);
        using (var self = Process.GetCurrentProcess()) self.Kill();
        Thread.Sleep(TimeSpan.FromMinutes(1));
        return x;
    }

    /// <summary>Prints a line with multibyte text, then waits for the test to have seen it.</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Stream(string release)
    {
        Console.WriteLine($"streaming {Multibyte}");
        WaitFor(release);
        Console.WriteLine("released");
        return 1;
    }

    /// <summary>Writes <paramref name="lines"/> numbered lines of 100 bytes each (10 MB for 104,858).</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Chatter(int lines)
    {
        var padding = new string('x', 100 - 1 - "chatter 0000000 ".Length);
        for (var i = 1; i <= lines; i++) Console.WriteLine($"chatter {i.ToString("D7", CultureInfo.InvariantCulture)} {padding}");
        return lines;
    }

    /// <summary>Starts a child that would outlive a careless cancel, then waits to be stopped.</summary>
    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Hang(int x)
    {
        using var child = Process.Start("sleep", "600");
        Console.WriteLine($"hanging with child {child.Id}");
        Thread.Sleep(TimeSpan.FromMinutes(10));
        return x;
    }

    [Step(StepOperator = StepOperatorNames.Default)]
    public static int Sleep(int seconds)
    {
        Console.WriteLine($"sleeping for {seconds} s");
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        return seconds;
    }

    /// <summary>Prints and logs its secret (the log must mask it), waits for the test to read the job's spec, and says whether it had the value.</summary>
    [Step(StepOperator = StepOperatorNames.Default, Secrets = [SecretName])]
    public static bool UseSecret(string expectedHash, string release)
    {
        var token = Environment.GetEnvironmentVariable(SecretVariable) ?? "";
        Console.WriteLine($"token is {token}");
        StepContext.Current!.Logger.LogInformation("calling the API with {Token}", token);
        WaitFor(release);
        return Hash(token) == expectedHash;
    }

    [Step(StepOperator = StepOperatorNames.Default, Secrets = [SecretName])]
    public static int LeakSecret(int x) =>
        throw new UnauthorizedAccessException($"the server refused {Environment.GetEnvironmentVariable(SecretVariable)} ({x})");

    [Step(StepOperator = StepOperatorNames.Default)]
    [Resources(Cpus = 2, Memory = "1GiB")]
    public static int Demanding(int x) => x;

    /// <summary>
    /// The re-attach case's pipeline, run by the <c>strata</c> command in a process of its own (which the case kills):
    /// one step that says it started and holds until released, both through files named after its run.
    /// </summary>
    [Pipeline(Name = ReattachPipeline)]
    public static void Reattach(PipelineBuilder p) => p.Step(Held, 21);

    public const string ReattachPipeline = "conformance-reattach";

    [Step(StepOperator = StepOperatorNames.Default, EnableCache = false)]
    public static int Held(int x)
    {
        var files = HeldFiles(StepContext.Current!.RunName);
        Directory.CreateDirectory(Path.GetDirectoryName(files.Started)!);
        File.AppendAllText(files.Started, $"{Environment.ProcessId}\n");
        Console.WriteLine($"held {x}");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(files.Release) && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(50);
        Console.WriteLine("released");
        return x * 2;
    }

    /// <summary>Where the held step of run <paramref name="runName"/> says it started (one line per execution), and what releases it.</summary>
    public static (string Started, string Release) HeldFiles(string runName)
    {
        var directory = Path.Combine(Path.GetTempPath(), "strata-conformance-held", runName);
        return (Path.Combine(directory, "started"), Path.Combine(directory, "release"));
    }

    public static string Hash(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static void WaitFor(string release)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(release) && clock.Elapsed < ReleaseBound) Thread.Sleep(50);
    }
}
