using System.Diagnostics;

namespace Strata.Tests.Support;

/// <summary>The <c>strata</c> command of this build (<see cref="RepoPaths.StrataDll"/>) run as a user runs it, for the tests that need a real process.</summary>
public static class StrataProcess
{
    /// <summary>
    /// Runs <c>strata ARGS</c> in <paramref name="directory"/> with its own home (<c>STRATA_HOME</c>, <c>HOME</c>), none of the
    /// machine's store or Google credentials, and <paramref name="environment"/> added; gives up after four minutes.
    /// </summary>
    public static (int ExitCode, string Out, string Error) Run(string directory, string home, IReadOnlyDictionary<string, string>? environment,
        params string[] args)
    {
        var start = new ProcessStartInfo(RepoPaths.Dotnet())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory, UseShellExecute = false,
        };
        start.ArgumentList.Add(RepoPaths.StrataDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STRATA_STORE_URL");
        start.Environment.Remove("GOOGLE_APPLICATION_CREDENTIALS");
        start.Environment["STRATA_HOME"] = home;
        start.Environment["HOME"] = directory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"strata {string.Join(' ', args)} did not finish");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
