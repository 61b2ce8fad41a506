using System.Diagnostics;
using System.Text;

namespace Strata.Emulators.Tests.Support;

/// <summary>The built <c>strata-emulators</c> host running as a process, with what it printed.</summary>
public sealed class EmulatorHostProcess : IDisposable
{
    private const string ReadyLine = "Press Ctrl+C to stop.";

    private readonly Process _process;
    private readonly StringBuilder _error = new();
    private readonly List<string> _lines = [];

    private EmulatorHostProcess(Process process) => _process = process;

    /// <summary>The host as the solution build leaves it, in the tests' configuration.</summary>
    public static string Dll
    {
        get
        {
            var dll = Path.Combine(RepoPaths.Root, "emulators", "Strata.Emulators", "bin", RepoPaths.Configuration, "net10.0", "strata-emulators.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build emulators/Strata.Emulators (or the solution) with -c {RepoPaths.Configuration} first");
            return dll;
        }
    }

    /// <summary>What it printed on standard output before it said it was ready.</summary>
    public IReadOnlyList<string> Lines => _lines;

    public string Error
    {
        get { lock (_error) return _error.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Runs <c>dotnet strata-emulators.dll args...</c> and waits until it prints that it is ready.</summary>
    public static async Task<EmulatorHostProcess> StartAsync(params string[] args)
    {
        // env gives the host a default SIGINT even when this process was started ignoring it (a background job does),
        // since a child keeps an ignored signal ignored.
        var start = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", Dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var host = new EmulatorHostProcess(Process.Start(start)!);
        host._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (host._error) host._error.AppendLine(e.Data);
        };
        host._process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            while (await host._process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                host._lines.Add(line);
                if (line == ReadyLine) return host;
            }
        }
        catch (OperationCanceledException)
        {
        }
        host.Dispose();
        throw new InvalidOperationException($"strata-emulators {string.Join(' ', args)} did not get ready.\n--- stdout ---\n{string.Join('\n', host._lines)}\n--- stderr ---\n{host.Error}");
    }

    /// <summary>The value after <paramref name="prefix"/> on the printed line that starts with it.</summary>
    public string After(string prefix) =>
        _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line
            ? line[prefix.Length..]
            : throw new InvalidOperationException($"No line starts with '{prefix}':\n{string.Join('\n', _lines)}");

    /// <summary>The variables of the printed <c>export NAME=value ...</c> lines (values without quotes or blanks).</summary>
    public IReadOnlyDictionary<string, string> Exports() => _lines
        .Where(l => l.StartsWith("export ", StringComparison.Ordinal))
        .SelectMany(l => l["export ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Select(pair => pair.Split('=', 2))
        .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
