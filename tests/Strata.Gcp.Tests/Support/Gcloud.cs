using System.Diagnostics;

namespace Strata.Gcp.Tests.Support;

/// <summary>
/// The Google Cloud CLI with a private config directory: credentials disabled, the given APIs pointed at an emulator, prompts,
/// usage reporting and update checks off. Each command must succeed (or the test fails with gcloud's output).
/// </summary>
public sealed class Gcloud(string directory, Uri endpoint, string project, params string[] apis)
{
    private bool _configured;

    /// <summary>More <c>gcloud config set</c> pairs applied with the first command (e.g. storage/resumable_threshold).</summary>
    public Dictionary<string, string> Properties { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs gcloud (configured on first use) and returns its standard output.</summary>
    public async Task<string> RunAsync(params string[] args) => (await RunWithErrorsAsync(args)).Output;

    /// <summary>Runs gcloud and returns both its standard output and its standard error.</summary>
    public async Task<(string Output, string Errors)> RunWithErrorsAsync(params string[] args)
    {
        if (!_configured)
        {
            _configured = true;
            await ExecAsync("config", "set", "auth/disable_credentials", "true");
            foreach (var api in apis) await ExecAsync("config", "set", $"api_endpoint_overrides/{api}", endpoint.ToString());
            await ExecAsync("config", "set", "core/project", project);
            foreach (var (key, value) in Properties) await ExecAsync("config", "set", key, value);
        }
        return await ExecAsync(args);
    }

    private async Task<(string Output, string Errors)> ExecAsync(params string[] args)
    {
        var start = new ProcessStartInfo("gcloud")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.ArgumentList.Add("--quiet");
        start.Environment["CLOUDSDK_CONFIG"] = Path.Combine(directory, "gcloud-config");
        start.Environment["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1";
        start.Environment["CLOUDSDK_CORE_DISABLE_USAGE_REPORTING"] = "true";
        start.Environment["CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK"] = "true";
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gcloud {string.Join(' ', args)} did not finish in 2 minutes.");
        }
        var output = await stdout;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"gcloud {string.Join(' ', args)} exited {process.ExitCode}:\n{errors}\n{output}");
        return (output, errors);
    }
}
