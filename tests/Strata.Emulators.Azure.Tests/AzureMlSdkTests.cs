using System.Diagnostics;

namespace Strata.Emulators.Azure.Tests;

/// <summary>
/// Microsoft's own client against the emulator: the Azure ML Python SDK (azure-ai-ml 1.4.0 from Debian's python3-azure, installed
/// by eng/azure/setup.sh) with azure-identity's ClientSecretCredential, run as /usr/bin/python3 with AZUREML_DEV_URL_MFE and the
/// emulator's CA bundle (python/azureml_sdk.py). A request the SDK sends that the emulator refuses fails these tests.
/// </summary>
public sealed class AzureMlSdkTests
{
    private const string Python = "/usr/bin/python3";

    private static async Task<(int ExitCode, string Output)> RunSdkAsync(AzureMlStack stack, string action, TimeSpan patience)
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: run eng/azure/setup.sh (test.sh does).");
        var script = Path.Combine(AppContext.BaseDirectory, "python", "azureml_sdk.py");
        var start = new ProcessStartInfo(Python, [script, action])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("AZURE", StringComparison.Ordinal)).ToArray()) start.Environment.Remove(name);
        foreach (var (k, v) in stack.Emulator.ClientEnvironment()) start.Environment[k] = v;
        start.Environment["PYTHONPATH"] = Path.Combine(AppContext.BaseDirectory, "python");
        start.Environment["EMULATOR"] = stack.Emulator.Endpoint.ToString().TrimEnd('/');
        start.Environment["TENANT"] = AzureMlStack.Tenant;
        start.Environment["CLIENT_ID"] = AzureMlStack.ClientId;
        start.Environment["CLIENT_SECRET"] = AzureMlStack.ClientSecret;
        start.Environment["SUBSCRIPTION"] = AzureMlStack.Subscription;
        start.Environment["RESOURCE_GROUP"] = AzureMlStack.ResourceGroup;
        start.Environment["WORKSPACE"] = AzureMlStack.WorkspaceName;
        start.Environment["IMAGE"] = AzureMlStack.Image;
        start.Environment["COMPUTE"] = "cpu";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"azureml_sdk.py {action} ran longer than {patience}: {await stdout}\n{await stderr}");
        }
        var output = await stdout + "\n" + await stderr;
        Assert.True(process.ExitCode == 0, $"azureml_sdk.py {action} exited with {process.ExitCode}: {output}\nrequests:\n"
            + string.Join('\n', stack.Emulator.Requests.Select(r => $"{r.Api} {r.Method} {r.Path} {r.Status}")));
        return (process.ExitCode, output);
    }

    private static void AssertNoRefusedSdkRequest(AzureMlStack stack) =>
        Assert.DoesNotContain(stack.Emulator.Requests, r => r.Api is "arm" or "history" && r.Status >= 400);

    [Fact]
    public async Task The_sdk_creates_an_environment_and_a_command_job_streams_its_log_and_sees_it_Completed()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var (_, output) = await RunSdkAsync(stack, "submit", TimeSpan.FromMinutes(3));
        Assert.Contains("environment=strata-sdk-env:1", output, StringComparison.Ordinal);
        Assert.Contains("Streaming user_logs/std_log.txt", output, StringComparison.Ordinal);
        Assert.Contains("hello from the sdk", output, StringComparison.Ordinal);
        Assert.Contains("status=Completed", output, StringComparison.Ordinal);
        Assert.Contains("listed=True", output, StringComparison.Ordinal);
        AssertNoRefusedSdkRequest(stack);
        // The SDK's own api-versions, each checked against its type definitions.
        Assert.Contains(stack.Emulator.Requests, r => r.Method == "PUT" && r.Path.Contains("/environments/strata-sdk-env/versions/1?api-version=2022-05-01",
            StringComparison.Ordinal));
        Assert.Contains(stack.Emulator.Requests, r => r.Method == "PUT" && r.Path.Contains("/jobs/sdk-", StringComparison.Ordinal)
            && r.Path.Contains("api-version=2022-10-01-preview", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Emulator.Requests.Where(r => r.Api != "entra"), r => r.Body.Contains(AzureMlStack.ClientSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_sdk_cancels_a_running_job_with_begin_cancel_and_sees_it_Canceled()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var (_, output) = await RunSdkAsync(stack, "cancel", TimeSpan.FromMinutes(3));
        Assert.Contains("running=Running", output, StringComparison.Ordinal);
        Assert.Contains("status=Canceled", output, StringComparison.Ordinal);
        Assert.Contains(stack.Emulator.Requests, r => r.Method == "POST" && r.Path.Contains("/cancel?", StringComparison.Ordinal) && r.Status == 202);
        AssertNoRefusedSdkRequest(stack);
    }

    [Fact]
    public async Task The_sdk_with_a_wrong_client_secret_is_refused_by_the_token_endpoint()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var (_, output) = await RunSdkAsync(stack, "wrong-secret", TimeSpan.FromMinutes(2));
        Assert.Contains("refused=yes", output, StringComparison.Ordinal);
        Assert.Contains("AADSTS7000215", output, StringComparison.Ordinal);
        Assert.DoesNotContain(stack.Emulator.Requests, r => r.Api == "arm" && r.Status == 200);
    }
}
