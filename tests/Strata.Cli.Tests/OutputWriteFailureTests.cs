using System.Diagnostics;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>
/// A step whose output cannot be written (a local artifact store on a full file system) fails itself, with the real
/// cause, and leaves nothing behind; the run resumes once there is room. The store is a real 400 KiB tmpfs.
/// </summary>
public sealed class OutputWriteFailureTests : IDisposable
{
    private readonly StrataCli _cli = new();
    private readonly string _lake;

    public OutputWriteFailureTests()
    {
        _lake = _cli.Combine("lake");
        Directory.CreateDirectory(_lake);
        Tmpfs.Mount(_lake, "400k");
    }

    public void Dispose()
    {
        Tmpfs.Unmount(_lake);
        _cli.Dispose();
    }

    [TmpfsFact]
    public void A_full_store_fails_the_step_whose_output_it_refused_with_that_cause_and_resume_completes_the_run_once_there_is_room()
    {
        Assert.Equal(0, _cli.Run("artifact-store", "register", "small", "--flavor=local", $"--path={_lake}").ExitCode);
        Assert.Equal(0, _cli.Run("stack", "register", "small", "-o", "default", "-a", "small", "--set").ExitCode);

        var run = _cli.Run("pipeline", "run", "bulky", "--run-name", "full", "--assembly", StrataCli.SamplePipelinesDll);
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.DoesNotContain("split completed", run.Out);
        Assert.Matches(@"✗ split failed \([^)]*\): IOException: No space left on device .* \(writing output 'test' to ", run.Out);
        Assert.Contains("train skipped: upstream step 'split' failed", run.Out);
        Assert.DoesNotContain("FOREIGN KEY", run.Out + run.Error);
        Assert.DoesNotContain("train failed", run.Out);
        Assert.Contains("split failed: IOException: No space left on device", run.Out[run.Out.IndexOf("Run full failed", StringComparison.Ordinal)..]);

        var show = _cli.Run("run", "show", "full", "--output", "json").Json;
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal("failed", steps["split"].GetProperty("status").GetString());
        Assert.Contains("IOException: No space left on device", steps["split"].GetProperty("error").GetString());
        Assert.Contains("writing output 'test'", steps["split"].GetProperty("error").GetString());
        Assert.Empty(steps["split"].GetProperty("outputs").EnumerateArray());
        Assert.Equal("skipped", steps["train"].GetProperty("status").GetString());

        // Neither the output that was written (train) nor a temporary file of the one that was not is left.
        Assert.Empty(Directory.EnumerateFiles(_lake, "*", SearchOption.AllDirectories));
        Assert.Empty(_cli.Run("gc", "--dry-run", "--output", "json").Json.GetProperty("items").EnumerateArray());

        Tmpfs.Remount(_lake, "4m");
        var resumed = _cli.Run("run", "resume", "full");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("✓ split completed", resumed.Out);
        Assert.Contains("✓ train completed", resumed.Out);
        Assert.Equal("completed", _cli.Run("run", "show", "full", "--output", "json").Json.GetProperty("run").GetProperty("status").GetString());
    }
}

/// <summary>A fact that needs to mount a tmpfs (root, or a container that allows it); skipped, saying why, where it cannot.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Mounts small tmpfs file systems for tests: a real disk that fills up.</summary>
public static class Tmpfs
{
    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs mounts need Linux";
        var dir = Directory.CreateTempSubdirectory("strata-tmpfs-probe-").FullName;
        try
        {
            var (code, error) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir);
            if (code != 0) return $"cannot mount a tmpfs here (mount exited with {code}: {error.Trim()}); it needs root or CAP_SYS_ADMIN";
            Run("umount", dir);
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot run mount: {e.Message}";
        }
        finally
        {
            try { Directory.Delete(dir); } catch (IOException) { }
        }
    });

    /// <summary>Why a tmpfs cannot be mounted here, or null when it can.</summary>
    public static string? Unavailable => Probe.Value;

    public static void Mount(string dir, string size)
    {
        if (Unavailable is not null) return;
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", dir);
        if (code != 0) throw new InvalidOperationException($"mount failed: {error}");
    }

    public static void Remount(string dir, string size)
    {
        var (code, error) = Run("mount", "-o", $"remount,size={size}", dir);
        if (code != 0) throw new InvalidOperationException($"remount failed: {error}");
    }

    public static void Unmount(string dir)
    {
        if (Unavailable is null) Run("umount", dir);
    }

    private static (int Code, string Error) Run(params string[] args)
    {
        var start = new ProcessStartInfo(args[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args[1..]) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }
}
