using System.Diagnostics;
using System.Text.Json;

namespace Strata.Tests.Support;

/// <summary>The outcome of one `strata` invocation.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Out).RootElement;

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>Runs the real `strata` command (the built CLI) in its own Strata home, as a user would.</summary>
public sealed class StrataCli : IDisposable
{
    private readonly TempDirectory _dir = new("strata-cli");
    private readonly string _strataDll;

    /// <param name="strataDll">The command's strata.dll. Default: the one beside the tests (<see cref="StrataDll"/>).</param>
    public StrataCli(string? strataDll = null)
    {
        _strataDll = strataDll ?? StrataDll;
        Directory.CreateDirectory(Home);
    }

    public string Home => _dir.Combine("home");
    public string WorkingDirectory => _dir.Path;
    public string Combine(params string[] parts) => _dir.Combine(parts);

    public static string StrataDll => Path.Combine(AppContext.BaseDirectory, "strata.dll");
    public static string SamplePipelinesDll => Path.Combine(AppContext.BaseDirectory, "SamplePipelines.dll");

    /// <summary>Runs `strata args...` with STRATA_HOME set to this instance's home.</summary>
    public CliResult Run(params string[] args) => RunIn(WorkingDirectory, new Dictionary<string, string?> { ["STRATA_HOME"] = Home }, args);

    public CliResult RunIn(string workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        Execute(workingDirectory, environment, null, args);

    /// <summary>Runs `strata args...` in this instance's home with <paramref name="input"/> as its standard input.</summary>
    public CliResult RunWithInput(string input, params string[] args) =>
        Execute(WorkingDirectory, new Dictionary<string, string?> { ["STRATA_HOME"] = Home }, input, args);

    private CliResult Execute(string workingDirectory, IReadOnlyDictionary<string, string?> environment, string? input, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(_strataDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STRATA_HOME");
        start.Environment.Remove("STRATA_STORE_URL");
        start.Environment["HOME"] = _dir.Path;
        foreach (var (k, v) in environment)
        {
            if (v is null) start.Environment.Remove(k);
            else start.Environment[k] = v;
        }
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"strata {string.Join(' ', args)} did not finish");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose() => _dir.Dispose();
}
