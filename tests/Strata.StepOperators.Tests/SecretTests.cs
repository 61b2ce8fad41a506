using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class SecretSteps
{
    /// <summary>Uses the secret and reports, without returning it, that it had it; returns its own and its parent's command lines.</summary>
    [Step(StepOperator = "local", Secrets = ["api"], EnableCache = false)]
    public static (bool HadToken, string Cmdline, string ParentCmdline) UseToken(string expectedHash)
    {
        var token = Environment.GetEnvironmentVariable("TOKEN") ?? "";
        Console.WriteLine($"token is {token}");
        StepContext.Current!.Logger.LogInformation("calling the API with {Token}", token);
        return (Hash(token) == expectedHash, Cmdline("self"), Cmdline(ParentPid()));
    }

    [Step(StepOperator = "local", Secrets = ["api"], EnableCache = false)]
    public static int LeakInError(int x) =>
        throw new UnauthorizedAccessException($"the server refused {Environment.GetEnvironmentVariable("TOKEN")} ({x})");

    public static string Hash(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static string Cmdline(string pid) => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');

    private static string ParentPid()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
    }
}

public sealed class SecretTests
{
    [Fact]
    public async Task A_secret_reaches_the_step_and_no_log_command_line_store_row_or_artifact()
    {
        await using var home = await OperatorHome.OpenAsync();
        var token = $"sv{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await home.Client.Secrets.CreateAsync("api", new Dictionary<string, string> { ["token"] = token });
        var observer = new RecordingObserver();

        var result = await home.RunAsync(p =>
        {
            p.Step(SecretSteps.UseToken, SecretSteps.Hash(token));
            p.Step(SecretSteps.LeakInError, 7);
        }, observer);

        // The step had the value, through its environment.
        Assert.Equal(ExecutionStatus.Completed, result["use_token"].Status);
        Assert.True(await result.LoadAsync<bool>("use_token", "had_token"));

        // Not on the command line of the step process or of the process that started it.
        var cmdline = await result.LoadAsync<string>("use_token", "cmdline");
        var parentCmdline = await result.LoadAsync<string>("use_token", "parent_cmdline");
        Assert.Contains("strata-step", cmdline); // --manifest URI, or --standby for a step handed to a standby process
        Assert.Contains("strata-step", parentCmdline);
        Assert.DoesNotContain(token, cmdline);
        Assert.DoesNotContain(token, parentCmdline);

        // Masked wherever output is kept or shown.
        var log = await home.Client.Store.GetStepLogAsync(result["use_token"].StepRunId!);
        Assert.Contains("token is ****", log);
        Assert.Contains("calling the API with ****", log);
        Assert.DoesNotContain(token, log);
        Assert.Contains("the server refused **** (7)", result["leak_in_error"].Error);
        Assert.DoesNotContain(token, result["leak_in_error"].Error);
        Assert.Contains(observer.Lines, l => l.Line.Contains("token is ****", StringComparison.Ordinal));
        Assert.DoesNotContain(observer.Lines, l => l.Line.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(observer.Changes, c => c.Detail?.Contains(token, StringComparison.Ordinal) == true);

        foreach (var command in new[] { new[] { "run", "logs", result.Run.Name }, ["run", "show", result.Run.Name], ["run", "show", result.Run.Name, "--output", "json"] })
        {
            var shown = home.Cli(command);
            Assert.True(shown.ExitCode == 0, shown.ToString());
            Assert.DoesNotContain(token, shown.Out + shown.Error);
        }
        Assert.Contains("token is ****", home.Cli("run", "logs", result.Run.Name).Out);

        // Not in any byte of the store (database and write-ahead log), the artifacts, or the steps' working files.
        var files = Directory.EnumerateFiles(home.HomePath, "*", SearchOption.AllDirectories).ToArray();
        Assert.Contains(files, f => f.EndsWith("strata.db", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("strata.db-wal", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith(home.Client.Home.ArtifactsPath, StringComparison.Ordinal));
        var utf8 = Encoding.UTF8.GetBytes(token);
        var utf16 = Encoding.Unicode.GetBytes(token);
        foreach (var file in files)
        {
            var bytes = await ReadSharedAsync(file);
            Assert.False(bytes.AsSpan().IndexOf(utf8) >= 0 || bytes.AsSpan().IndexOf(utf16) >= 0, $"{file} holds the secret");
        }
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
