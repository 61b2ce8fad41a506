using System.Diagnostics;

namespace Strata.StepOperators;

/// <summary>
/// Step processes started ahead of their step (<c>strata-step --standby</c>), at most one per kind: the same working
/// root, command and start environment. A standby pays the runtime's start-up while nothing waits for it, and the next
/// step of its kind is handed to it instead of starting a process. Each step still runs in a process of its own.
/// A standby lives in a directory of its own under the root, renamed to the step's working directory at the hand-off.
/// A standby whose stdin closes before a hand-off (this process let it go, or ended) removes its directory and exits.
/// </summary>
internal static class StandbyProcesses
{
    /// <summary>Standbys kept at once, across kinds; starting one more lets the oldest go.</summary>
    private const int MaxReady = 4;

    private static readonly Lock Gate = new();
    private static readonly List<StandbyProcess> Ready = [];
    private static readonly HashSet<string> Starting = new(StringComparer.Ordinal);

    /// <summary>Kinds whose standby ended before any hand-off (an app that cannot wait for one): not started again.</summary>
    private static readonly HashSet<string> Refused = new(StringComparer.Ordinal);

    /// <summary>The ready standby of <paramref name="kind"/>, now the caller's, or null.</summary>
    public static StandbyProcess? Take(string kind)
    {
        StandbyProcess? standby;
        lock (Gate)
        {
            standby = Ready.FirstOrDefault(s => s.Kind == kind);
            if (standby is null) return null;
            Ready.Remove(standby);
        }
        if (!HasEnded(standby.Process)) return standby;
        Ended(standby);
        return null;
    }

    /// <summary>
    /// Starts a standby of <paramref name="kind"/> in a new directory under <paramref name="root"/> with
    /// <paramref name="start"/>, in the background, unless one is ready or starting.
    /// </summary>
    public static void StartAhead(string kind, string root, Func<string, Process> start)
    {
        lock (Gate)
        {
            if (Refused.Contains(kind) || Ready.Any(s => s.Kind == kind) || !Starting.Add(kind)) return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            StandbyProcess? evicted = null;
            try
            {
                RemoveEnded(root);
                var directory = Path.Combine(root, StrataEntrypoint.StandbyDirectoryPrefix + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(directory);
                StandbyProcess standby;
                try
                {
                    standby = new StandbyProcess(kind, directory, start(directory));
                }
                catch
                {
                    Directory.Delete(directory, recursive: true);
                    throw;
                }
                lock (Gate)
                {
                    Ready.Add(standby);
                    if (Ready.Count > MaxReady)
                    {
                        evicted = Ready[0];
                        Ready.RemoveAt(0);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // Only a head start is lost: the next step starts its own process, as it would without standbys.
            }
            finally
            {
                lock (Gate) Starting.Remove(kind);
            }
            evicted?.LetGo();
        }, null);
    }

    /// <summary>Whether the process has ended; a process its operator has already cleaned up (disposed) has.</summary>
    private static bool HasEnded(Process process)
    {
        try { return process.HasExited; }
        catch (InvalidOperationException) { return true; }
    }

    /// <summary>
    /// Removes the directories that standbys which ended before any hand-off (killed, or the app refused the option) left
    /// under <paramref name="root"/>: each holds the exit code its shell wrote, so nothing runs there any more. A standby
    /// still on the ready list keeps its directory until it is taken, which reads why it ended.
    /// </summary>
    private static void RemoveEnded(string root)
    {
        if (!Directory.Exists(root)) return;
        HashSet<string> listed;
        lock (Gate) listed = Ready.Select(s => s.Directory).ToHashSet(StringComparer.Ordinal);
        foreach (var directory in Directory.EnumerateDirectories(root, StrataEntrypoint.StandbyDirectoryPrefix + "*"))
            if (!listed.Contains(directory) && new JobDirectory(directory).HasExitCodeFile)
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Lets every ready standby under <paramref name="root"/> go.</summary>
    public static void LetGo(string root)
    {
        StandbyProcess[] leaving;
        lock (Gate)
        {
            leaving = Ready.Where(s => Path.GetDirectoryName(s.Directory) == root).ToArray();
            Ready.RemoveAll(leaving.Contains);
        }
        foreach (var standby in leaving) standby.LetGo();
    }

    /// <summary>A standby that ended before its hand-off: an app that did not understand the option left its exit code behind.</summary>
    private static void Ended(StandbyProcess standby)
    {
        if (new JobDirectory(standby.Directory).ReadExitCode() is { } code && code != 0)
            lock (Gate) Refused.Add(standby.Kind);
        standby.Process.Dispose();
        try { if (Directory.Exists(standby.Directory)) Directory.Delete(standby.Directory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A started standby: its kind, its own directory, and its process (the session's shell), whose stdin takes the hand-off.</summary>
internal sealed class StandbyProcess(string kind, string directory, Process process)
{
    public string Kind { get; } = kind;
    public string Directory { get; } = directory;
    public Process Process { get; } = process;

    /// <summary>Closes its stdin with nothing sent: it removes its directory and exits.</summary>
    public void LetGo()
    {
        try { Process.StandardInput.Close(); }
        catch (IOException) { }
        Process.Dispose();
    }
}
