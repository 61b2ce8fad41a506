using System.Diagnostics;
using System.Text;
using Strata.Tests.Support;

namespace Strata.StepOperatorTests.Support;

/// <summary>A `strata` command running in the background (e.g. `pipeline run`), to interrupt, kill or cancel from elsewhere.</summary>
public sealed class BackgroundCli : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();

    public BackgroundCli(string home, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // A process started with SIGINT ignored (a background job of a non-interactive shell, as CI may be) passes that on,
        // and .NET then leaves SIGINT ignored. The command must get SIGINT like a terminal user's would: restore the default
        // disposition, then exec dotnet in the same process.
        var start = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(StrataCli.StrataDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STRATA_STORE_URL");
        start.Environment["STRATA_HOME"] = home;
        foreach (var (k, v) in environment) start.Environment[k] = v;
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { lock (_out) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_error) _error.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Out
    {
        get { lock (_out) return _out.ToString(); }
    }

    public string Error
    {
        get { lock (_error) return _error.ToString(); }
    }

    /// <summary>Waits for the command to end and returns its exit code.</summary>
    public async Task<int> WaitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"strata did not exit within {limit}:\n{this}");
        }
        return _process.ExitCode;
    }

    public override string ToString() => $"--- stdout ---\n{Out}\n--- stderr ---\n{Error}";

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
