using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class SecretSteps
{
    /// <summary>Prints and logs the secret (the log masks it) and says, without returning it, whether it had it.</summary>
    [Step(StepOperator = "local", Secrets = ["api"], EnableCache = false)]
    public static bool UseToken(string expectedHash)
    {
        var token = Environment.GetEnvironmentVariable("TOKEN") ?? "";
        Console.WriteLine($"token is {token}");
        StepContext.Current!.Logger.LogInformation("calling the API with {Token}", token);
        return Hash(token) == expectedHash;
    }

    [Step(StepOperator = "local", Secrets = ["api"], EnableCache = false)]
    public static int LeakInError(int x) =>
        throw new UnauthorizedAccessException($"the server refused {Environment.GetEnvironmentVariable("TOKEN")} ({x})");

    public static string Hash(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}

/// <summary>Beyond the job: a secret a local step used is in no command's output and no byte of the home.</summary>
public sealed partial class LocalProcessOperatorTests
{
    [Fact]
    public async Task A_secret_a_step_used_is_in_no_command_output_and_no_byte_of_the_store_artifacts_or_working_files()
    {
        await using var home = await OperatorHome.OpenAsync();
        var token = $"sv{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await home.Client.Secrets.CreateAsync("api", new Dictionary<string, string> { ["token"] = token });

        var result = await home.RunAsync(p =>
        {
            p.Step(SecretSteps.UseToken, SecretSteps.Hash(token));
            p.Step(SecretSteps.LeakInError, 7);
        });

        Assert.True(await result.LoadAsync<bool>("use_token"));
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
