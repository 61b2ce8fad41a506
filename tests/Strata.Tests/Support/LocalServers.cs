using System.Diagnostics;

namespace Strata.Tests.Support;

/// <summary>What the fixtures of the suite's local servers (eng/slurm/cluster.sh, eng/containers/services.sh) share.</summary>
public static class LocalServers
{
    /// <summary>The <c>export NAME='value'</c> lines of a script's env file.</summary>
    public static Dictionary<string, string> ReadEnvFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            if (!line.StartsWith("export ", StringComparison.Ordinal)) continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            values[line[7..eq]] = line[(eq + 1)..].Trim('\'', '"');
        }
        return values;
    }

    /// <summary>Runs a command to its end: its exit code and its output (stdout, then stderr).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }
}
