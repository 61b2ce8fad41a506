using System.Globalization;
using System.Reflection;
using System.Runtime;

namespace Strata;

/// <summary>
/// A step process spends much of its short life compiling code. The runtime's multi-core JIT records which methods a
/// process compiled, and the next process of the same build compiles them ahead, on another core, while the step's
/// thread goes on. The profile is kept per user and per build in the temporary directory: a machine that runs many
/// steps of an app compiles them once at a time, an ephemeral container simply records and drops it.
/// <c>STRATA_JIT_PROFILE=off</c> turns it off.
/// </summary>
internal static class StepJitProfile
{
    public const string Variable = "STRATA_JIT_PROFILE";

    public static void Start()
    {
        if (Environment.GetEnvironmentVariable(Variable) is "off" or "0" or "false" || Environment.ProcessorCount < 2) return;
        if (Assembly.GetEntryAssembly() is not { } entry) return;
        try
        {
            // USER rather than Environment.UserName, which looks the user up and costs a step process milliseconds.
            var directory = Path.Combine(Path.GetTempPath(), "strata-" + (Environment.GetEnvironmentVariable("USER") ?? "user"), "jit");
            Directory.CreateDirectory(directory);
            ProfileOptimization.SetProfileRoot(directory);
            // Per build: a profile names methods by token, which mean other methods in another build.
            ProfileOptimization.StartProfile(entry.GetName().Name + "-" + entry.ManifestModule.ModuleVersionId.GetHashCode().ToString("x8", CultureInfo.InvariantCulture) + ".jitprofile");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No profile: the step runs as it would without one.
        }
    }
}
