using System.Globalization;
using System.Text;

namespace Strata.StepOperators;

/// <summary>
/// The files a job keeps in a directory of its own, shared by operators whose jobs reach a file system the client
/// also sees (a local process, a Slurm job on a shared disk): the job's output, the exit code its wrapper script
/// records when the command ends, and the marker Strata leaves when it cancels the job. Everything here works from the
/// directory's path alone, so status, logs and cancel work from another process after a restart.
/// </summary>
public sealed class JobDirectory(string path)
{
    /// <summary>The job's standard output.</summary>
    public const string StdoutFile = "stdout.log";

    /// <summary>The job's standard error.</summary>
    public const string StderrFile = "stderr.log";

    /// <summary>The command's exit code, written by the job's wrapper script after the command ends.</summary>
    public const string ExitCodeFile = "exit_code";

    /// <summary>Left by <see cref="MarkCancelledAsync"/>: Strata cancelled the job.</summary>
    public const string CancelledFile = "cancelled";

    public string Path { get; } = path;

    public string Stdout => System.IO.Path.Combine(Path, StdoutFile);

    public string Stderr => System.IO.Path.Combine(Path, StderrFile);

    public string ExitCode => System.IO.Path.Combine(Path, ExitCodeFile);

    /// <summary>Whether the exit code file exists (it may still be empty: created, not yet written).</summary>
    public bool HasExitCodeFile => File.Exists(ExitCode);

    /// <summary>The recorded exit code, or null when there is none yet (no file, or a file still empty).</summary>
    public int? ReadExitCode()
    {
        try
        {
            var text = File.ReadAllText(ExitCode).Trim();
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : null;
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>Whether Strata cancelled the job.</summary>
    public bool IsCancelled => File.Exists(System.IO.Path.Combine(Path, CancelledFile));

    /// <summary>Marks the job cancelled (before signalling it, so that its end is read as a cancel). Safe to call twice.</summary>
    public async Task MarkCancelledAsync()
    {
        if (Directory.Exists(Path))
            await File.WriteAllTextAsync(System.IO.Path.Combine(Path, CancelledFile), "", CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Removes what an earlier submission of the same step run left (output, exit code, cancel marker).</summary>
    public void ClearOutcome()
    {
        foreach (var file in new[] { ExitCodeFile, CancelledFile, StdoutFile, StderrFile })
            File.Delete(System.IO.Path.Combine(Path, file));
    }

    /// <summary>Followers of the job's standard output and standard error.</summary>
    public LogFileFollower[] FollowOutput() => [new(Stdout), new(Stderr)];

    /// <summary>The last non-empty lines of the job's standard error, as "; stderr ends with: ..." or "" when there are none.</summary>
    public string StderrTail(int lines = 10)
    {
        if (!File.Exists(Stderr)) return "";
        var tail = File.ReadLines(Stderr, Encoding.UTF8).Where(l => l.Length > 0).TakeLast(lines).ToArray();
        return tail.Length == 0 ? "" : $"; stderr ends with:{Environment.NewLine}{string.Join(Environment.NewLine, tail)}";
    }
}
