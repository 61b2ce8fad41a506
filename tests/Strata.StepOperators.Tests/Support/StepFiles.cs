using System.Globalization;

namespace Strata.StepOperatorTests.Support;

/// <summary>Files through which steps (often in another process) tell a test what happened: counts and pids.</summary>
public static class StepFiles
{
    /// <summary>Adds a line to a count file and returns how many lines it has now: the how-many-th execution this is.</summary>
    public static int Increment(string path)
    {
        File.AppendAllText(path, "x\n");
        return File.ReadAllLines(path).Length;
    }

    /// <summary>How many times <see cref="Increment"/> was called on the file.</summary>
    public static int Count(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    /// <summary>Writes the file whole or not at all, so a reader never sees half of it.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Appends a pid as a line.</summary>
    public static void AppendPid(string path, int pid) => File.AppendAllText(path, pid.ToString(CultureInfo.InvariantCulture) + "\n");
}
