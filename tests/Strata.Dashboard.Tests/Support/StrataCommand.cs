using System.Diagnostics;

namespace Strata.Dashboard.Tests.Support;

/// <summary>A <c>strata</c> command of this build running in the background as a user starts it, with its output read as it comes.</summary>
public sealed class StrataCommand : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _out = [];
    private readonly List<string> _error = [];

    private StrataCommand(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_error) _error.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>dotnet FILE ARGS</c> (<paramref name="dll"/>: strata.dll unless given) in <paramref name="home"/>'s Strata home.</summary>
    public static StrataCommand Start(string home, IReadOnlyDictionary<string, string>? environment, string? dll, params string[] args)
    {
        var start = new ProcessStartInfo(RepoPaths.Dotnet())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = home,
        };
        start.ArgumentList.Add(dll ?? RepoPaths.StrataDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STRATA_STORE_URL");
        start.Environment["STRATA_HOME"] = home;
        start.Environment["HOME"] = home;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return new StrataCommand(Process.Start(start)!);
    }

    /// <summary>The process's CPU priority as the kernel holds it (nice: 0 normal, higher yields to others), read from /proc.</summary>
    public int Nice
    {
        get
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            // Fields after the command (which is in parentheses and may hold spaces): state is the 3rd field, nice the 19th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public string Out
    {
        get { lock (_out) return string.Join('\n', _out); }
    }

    public string Error
    {
        get { lock (_error) return string.Join('\n', _error); }
    }

    /// <summary>The first line of standard output that starts with <paramref name="prefix"/>, once it is printed.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (_out)
                if (_out.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line) return line;
            if (_process.HasExited) break;
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        throw new TimeoutException($"no line starting '{prefix}'; out:\n{Out}\nerror:\n{Error}");
    }

    /// <summary>Ctrl+C, as a terminal sends it.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // the last output lines
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
