using System.Diagnostics;
using System.Globalization;

namespace Strata.StepOperatorTests.Support;

/// <summary>What the tests ask of processes: is one still alive (a zombie is not), and waiting for files steps write.</summary>
public static class Processes
{
    /// <summary>Whether the process exists and has not ended (a zombie waiting for its parent has ended).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The processes whose working directory is <paramref name="directory"/>.</summary>
    public static int[] InDirectory(string directory) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .Where(pid =>
            {
                try { return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget == directory; }
                catch (IOException) { return false; }
                catch (UnauthorizedAccessException) { return false; }
            })
            .ToArray();

    /// <summary>A process's scheduling niceness (field 19 of /proc/PID/stat).</summary>
    public static int Niceness(string pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until none of the processes is alive; false if some still are after <paramref name="limit"/>.</summary>
    public static async Task<bool> WaitGoneAsync(IEnumerable<int> pids, TimeSpan limit)
    {
        var all = pids.ToArray();
        var clock = Stopwatch.StartNew();
        while (all.Any(IsAlive))
        {
            if (clock.Elapsed > limit) return false;
            await Task.Delay(100);
        }
        return true;
    }

    /// <summary>Waits for a file a step writes, returning its lines once it has at least <paramref name="lines"/> of them.</summary>
    public static async Task<string[]> WaitForLinesAsync(string path, int lines = 1, TimeSpan? limit = null, Func<bool>? givenUp = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(path))
            {
                var content = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
                if (content.Length >= lines) return content;
            }
            if (clock.Elapsed > (limit ?? TimeSpan.FromMinutes(2)) || givenUp?.Invoke() == true)
                throw new TimeoutException($"{path} did not get {lines} line(s) in time");
            await Task.Delay(100);
        }
    }

    public static int[] Pids(IEnumerable<string> lines) => lines.Select(l => int.Parse(l.Trim(), CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Sends a signal to a process (e.g. KILL, INT, TERM).</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
