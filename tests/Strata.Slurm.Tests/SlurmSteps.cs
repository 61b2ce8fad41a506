using System.Security.Cryptography;
using System.Text;

namespace Strata.Slurm.Tests;

/// <summary>
/// Steps the Slurm step operator tests run. The remote ones run in a Slurm job through `strata strata-step`, which loads
/// this assembly from the test output directory; they use nothing but the BCL and Strata.
/// </summary>
public static class SlurmSteps
{
    /// <summary>The step operator every test home registers.</summary>
    public const string Operator = "hpc";

    [Step]
    public static int[] Numbers(int count) => Enumerable.Range(1, count).ToArray();

    [Step(StepOperator = Operator)]
    public static int SumOnCluster(int[] numbers)
    {
        Console.WriteLine($"summing {numbers.Length} numbers in Slurm job {Environment.GetEnvironmentVariable("SLURM_JOB_ID")}");
        Console.Error.WriteLine("a line on standard error");
        return numbers.Sum();
    }

    [Step]
    public static string Report(int sum) => $"sum={sum}";

    [Step(StepOperator = Operator)]
    public static int Explode(int code) => throw new InvalidOperationException($"the cluster step failed on purpose ({code})");

    [Step(StepOperator = Operator)]
    public static int Nap(int seconds)
    {
        Console.WriteLine($"napping for {seconds} s");
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        return seconds;
    }

    /// <summary>One branch of a fan-out: fails on purpose when <paramref name="fail"/> is set, else adds its index to the sum.</summary>
    [Step(StepOperator = Operator)]
    public static int Branch(int[] numbers, int index, bool fail)
    {
        Console.WriteLine($"branch {index} in array task {Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID")}_" +
            Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID"));
        if (fail) throw new InvalidOperationException($"branch {index} failed on purpose");
        return numbers.Sum() + index;
    }

    /// <summary>Fails its first attempt when <paramref name="flaky"/> is set (it remembers attempts in <paramref name="marks"/>), then succeeds.</summary>
    [Step(StepOperator = Operator, Retries = 1, RetryDelay = "100ms")]
    public static int FlakyBranch(string marks, int index, bool flaky)
    {
        var mark = Path.Combine(marks, $"branch-{index}");
        var tried = File.Exists(mark);
        File.AppendAllText(mark, "attempt\n");
        Console.WriteLine($"branch {index}, attempt {(tried ? 2 : 1)}");
        if (flaky && !tried) throw new InvalidOperationException($"branch {index} failed its first attempt on purpose");
        return index;
    }

    /// <summary>Reports what the job saw of its secret (a hash, never the value) and the mode of its environment file.</summary>
    [Step(StepOperator = Operator, Secrets = ["api"])]
    public static string SecretCheck(int unused)
    {
        var value = Environment.GetEnvironmentVariable("API_KEY") ?? "";
        var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(Path.Combine(Environment.CurrentDirectory, "env.sh"));
        Console.WriteLine($"the secret has {value.Length} characters");
        return $"sha256={Hash(value)};env_mode={Convert.ToString((int)mode, 8)}";
    }

    public static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
