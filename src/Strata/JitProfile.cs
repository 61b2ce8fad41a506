using System.Globalization;
using System.Reflection;
using System.Runtime;

namespace Strata;

/// <summary>
/// A short process (a step process, a CLI command) spends much of its life compiling code that precompiled images
/// cannot cover: the framework's generic code over our types, vector code the machine rejects. The runtime's multi-core
/// JIT records which methods a process compiled, and the next process of the same build doing the same thing compiles
/// them ahead, on another core, while the main thread goes on. Profiles are kept per user, per build and per kind of
/// work in <c>$TMPDIR/strata-$USER/jit</c>: a machine that runs many steps compiles them ahead, an ephemeral container
/// simply records one and drops it. <c>STRATA_JIT_PROFILE=off</c> turns it off.
/// </summary>
public static class JitProfile
{
    public const string Variable = "STRATA_JIT_PROFILE";

    /// <param name="kind">What this process does, in a file-name-safe word (a profile fits one kind of work).</param>
    public static void Start(string kind)
    {
        if (Environment.GetEnvironmentVariable(Variable) is "off" or "0" or "false" || Environment.ProcessorCount < 2) return;
        if (Assembly.GetEntryAssembly() is not { } entry) return;
        try
        {
            // USER rather than Environment.UserName, which looks the user up and costs a short process milliseconds.
            var directory = Path.Combine(Path.GetTempPath(), "strata-" + (Environment.GetEnvironmentVariable("USER") ?? "user"), "jit");
            // Per build of the app and of Strata: a profile names methods by token, which mean other methods in another build
            // (the runtime skips a module whose build changed, so a profile kept for a while would compile nothing of it ahead).
            var build = unchecked(entry.ManifestModule.ModuleVersionId.GetHashCode() * 31 + typeof(JitProfile).Module.ModuleVersionId.GetHashCode())
                .ToString("x8", CultureInfo.InvariantCulture);
            // The module's file name rather than the assembly's name, which makes an AssemblyName (a fraction of a millisecond).
            var app = Path.GetFileNameWithoutExtension(entry.ManifestModule.Name) is { Length: > 0 } module && module[0] != '<' ? module : "app";
            var name = string.Concat(app, "-", build, "-", kind, ".jitprofile");
            if (RecordedLately(Path.Combine(directory, name)) && TryReplayOnly(directory, name)) return;
            ProfileOptimization.SetProfileRoot(directory);
            ProfileOptimization.StartProfile(name);
            // Replay has begun (if there was a profile); the directory is needed only when this one is written, at exit.
            // Readable and writable by this user only, like the rest of a user's caches.
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else
            {
                const UnixFileMode userOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
                // Both by name: a mode given for a path applies to its last directory only, not to parents it creates.
                Directory.CreateDirectory(Path.GetDirectoryName(directory)!, userOnly);
                Directory.CreateDirectory(directory, userOnly);
            }
            // The first run of a build is the moment to drop what earlier builds left.
            if (!File.Exists(Path.Combine(directory, name))) PruneOtherBuilds(directory, app, build, TimeProvider.System.GetUtcNow().UtcDateTime);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No profile: the process runs as it would without one.
        }
    }

    /// <summary>
    /// Whether the profile at <paramref name="path"/> was written less than <see cref="GatherInterval"/> ago. One call for both
    /// questions: for a file that does not exist the time is 1601-01-01.
    /// </summary>
    private static bool RecordedLately(string path) =>
        File.GetLastWriteTimeUtc(path) is var written && written.Year > 1601 && TimeProvider.System.GetUtcNow().UtcDateTime - written < GatherInterval;

    /// <summary>
    /// Replays a profile without recording one. The runtime reads a profile as it starts it, and writes the one it recorded at
    /// exit, to the same path: thousands of small writes, 10–15 ms of a short command here. Started through a link to the
    /// directory that is removed at once, the replay goes on and the write at exit finds no such directory. False when no link
    /// could be made (the caller then starts the profile as usual).
    /// </summary>
    private static bool TryReplayOnly(string directory, string name)
    {
        var link = Path.Combine(directory, ".replay-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            File.Delete(link); // one left by a process of this id that died right after making it
            Directory.CreateSymbolicLink(link, directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        try
        {
            ProfileOptimization.SetProfileRoot(link);
            ProfileOptimization.StartProfile(name);
        }
        finally
        {
            File.Delete(link);
        }
        return true;
    }

    /// <summary>
    /// The runtime's switch that keeps replaying a profile but records none. Recording costs a short process thousands of
    /// small writes as it exits (15 ms of a step's round trip here), so step processes started here record one only now and then.
    /// </summary>
    public const string NoGatherVariable = "DOTNET_MultiCoreJitNoProfileGather";

    /// <summary>How often, at most, a process of one command is started to record its profile again.</summary>
    public static TimeSpan GatherInterval { get; } = TimeSpan.FromMinutes(10);

    /// <summary>When each command last recorded. Apart from the class's other statics: every short process starts a profile, and
    /// a dictionary with a value-type value is generic code it would compile (1–2 ms) only to never use.</summary>
    private static class Gathers
    {
        public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> Last = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether a process of <paramref name="command"/> started now should record a profile: the first one of this process,
    /// and then one each <see cref="GatherInterval"/>. A true answer claims the turn.
    /// </summary>
    public static bool ClaimGather(string command, DateTimeOffset now)
    {
        while (true)
        {
            if (Gathers.Last.TryAdd(command, now)) return true;
            var last = Gathers.Last[command];
            if (now - last < GatherInterval) return false;
            if (Gathers.Last.TryUpdate(command, now, last)) return true;
        }
    }

    /// <summary>Deletes the profiles of <paramref name="app"/>'s other builds not written for an hour (a build still in use rewrites its own).</summary>
    internal static void PruneOtherBuilds(string directory, string app, string build, DateTime now)
    {
        foreach (var file in Directory.EnumerateFiles(directory, app + "-*.jitprofile"))
        {
            var rest = Path.GetFileName(file).AsSpan(app.Length + 1);
            if (rest.StartsWith(build + "-", StringComparison.Ordinal) || rest.IndexOf('-') != 8) continue; // this build, or another app's name
            try
            {
                if (now - File.GetLastWriteTimeUtc(file) > TimeSpan.FromHours(1)) File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
