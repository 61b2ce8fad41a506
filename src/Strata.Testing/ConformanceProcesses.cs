using System.Globalization;

namespace Strata.Testing;

/// <summary>
/// The processes of this machine, as <c>/proc</c> shows them (Linux): for an operator whose jobs are processes here,
/// the answer of <see cref="StepOperatorConformance.LiveJobsAsync"/> and <see cref="StepOperatorConformance.JobSpecAsync"/>.
/// A zombie (ended, not yet reaped) does not count as running.
/// </summary>
public static class ConformanceProcesses
{
    /// <summary>The living processes of process group <paramref name="group"/> (a job started with setsid: its pid), as "pid: command line".</summary>
    public static IReadOnlyList<string> InGroup(string group) => Living(stat => Field(stat, 2) == group);

    /// <summary>The living processes whose working directory is <paramref name="directory"/>, as "pid: command line".</summary>
    public static IReadOnlyList<string> InDirectory(string directory) => Living((stat, pid) =>
    {
        try { return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget == Path.GetFullPath(directory).TrimEnd('/'); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });

    /// <summary>The living processes whose environment holds <paramref name="name"/>=<paramref name="value"/>, as "pid: command line".</summary>
    public static IReadOnlyList<string> WithEnvironment(string name, string value) => Living((stat, pid) =>
    {
        try { return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"{name}={value}"); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });

    private static IReadOnlyList<string> Living(Func<string, bool> match) => Living((stat, _) => match(stat));

    private static IReadOnlyList<string> Living(Func<string, string, bool> match)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var pid = Path.GetFileName(dir);
            if (!pid.All(char.IsAsciiDigit) || pid == Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (Field(stat, 0) == "Z" || !match(stat, pid)) continue;
                found.Add($"{pid}: {File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>A field of /proc/PID/stat after the command name: 0 is the state, 2 the process group.</summary>
    private static string Field(string stat, int index) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[index];
}
