using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Strata.Emulators.Tests.Support;

namespace Strata.Emulators.Tests;

/// <summary>
/// <c>strata-emulators sagemaker</c> as a user runs it: a real process on a free port, driven by botocore (AWS's own
/// Python SDK, Debian's python3-botocore) with the credentials and endpoint the host printed.
/// </summary>
public sealed class SageMakerHostTests
{
    private const string AccessKey = "AKIASTRATAHOSTTEST01";
    private const string SecretKey = "host/test+secret/key";
    private const string Image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello:1";

    [Fact]
    public async Task Botocore_trains_on_the_standalone_host_and_Ctrl_C_stops_it()
    {
        using var host = await EmulatorHostProcess.StartAsync("sagemaker", "--port", "0", "--region", "eu-west-1",
            "--access-key-id", AccessKey, "--secret-access-key", SecretKey,
            "--image", $"{Image}=/bin/sh -c 'echo \"$GREETING from $TRAINING_JOB_NAME\"'");

        var endpoint = host.After("SageMaker emulator listening on ");
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", endpoint);
        var exports = host.Exports();
        Assert.Equal(endpoint, exports["AWS_ENDPOINT_URL_SAGEMAKER"]);
        Assert.Equal(endpoint, exports["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"]);
        Assert.Equal(AccessKey, exports["AWS_ACCESS_KEY_ID"]);
        Assert.Equal("eu-west-1", exports["AWS_DEFAULT_REGION"]);
        Assert.Contains(host.Lines, l => l.StartsWith("strata step-operator register ", StringComparison.Ordinal)
            && l.Contains("--flavor=sagemaker", StringComparison.Ordinal) && l.Contains($"--endpoint_url={endpoint}", StringComparison.Ordinal));
        // The secret has a slash and a plus: printed as it is, for a shell to take as one word.
        Assert.Equal(SecretKey, exports["AWS_SECRET_ACCESS_KEY"]);

        var answer = await BotocoreTrainingJobAsync(endpoint, "hello-host", exports);

        Assert.Equal("arn:aws:sagemaker:eu-west-1:123456789012:training-job/hello-host", answer.GetProperty("created").GetProperty("TrainingJobArn").GetString());
        var described = answer.GetProperty("described");
        Assert.Equal("Completed", described.GetProperty("TrainingJobStatus").GetString());
        Assert.Equal("Completed", described.GetProperty("SecondaryStatus").GetString());
        Assert.Equal(Image, described.GetProperty("AlgorithmSpecification").GetProperty("TrainingImage").GetString());
        Assert.Equal(["Starting", "Downloading", "Training", "Uploading", "Completed"],
            described.GetProperty("SecondaryStatusTransitions").EnumerateArray().Select(t => t.GetProperty("Status").GetString()));
        Assert.Equal("s3://strata-emulator-test/output/hello-host/output/model.tar.gz", described.GetProperty("ModelArtifacts").GetProperty("S3ModelArtifacts").GetString());
        Assert.Equal(["hello from hello-host"], answer.GetProperty("log").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains("sagemaker CreateTrainingJob 200", host.Error, StringComparison.Ordinal);

        var stopwatch = Stopwatch.StartNew();
        host.Interrupt();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await host.WaitForExitAsync(timeout.Token);
        Assert.True(host.ExitCode == 0, $"exit {host.ExitCode}\n{host.Error}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed} to stop");
    }

    [Theory]
    [InlineData("nimbus", "error: unknown emulator or argument 'nimbus'; emulators: sagemaker, kubernetes, gcs, vertex, azureml.")]
    [InlineData("sagemaker --port 70000", "error: --port must be a number from 0 to 65535, not '70000'.")]
    [InlineData("sagemaker --port http", "error: --port must be a number from 0 to 65535, not 'http'.")]
    [InlineData("sagemaker --image app:1", "error: --image takes NAME=ENTRYPOINT")]
    public async Task Bad_input_is_one_line_and_exit_2(string args, string error) => await ExpectUsageErrorAsync(error, args.Split(' '));

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_2()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        await ExpectUsageErrorAsync($"error: port {port} on 127.0.0.1 is in use", "sagemaker", "--port", port);
    }

    private static async Task ExpectUsageErrorAsync(string error, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [EmulatorHostProcess.Dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("", await stdout);
        var line = Assert.Single((await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(error, line, StringComparison.Ordinal);
    }

    /// <summary>Runs botocore_training_job.py with Debian's interpreter and the printed variables; its JSON answer.</summary>
    private static async Task<JsonElement> BotocoreTrainingJobAsync(string endpoint, string jobName, IReadOnlyDictionary<string, string> exports)
    {
        using var home = new TempDirectory("strata-emulator-botocore");
        var script = Path.Combine(AppContext.BaseDirectory, "botocore_training_job.py");
        // The endpoint goes as an argument too: Debian's botocore predates the AWS_ENDPOINT_URL_<SERVICE> variables.
        var start = new ProcessStartInfo("/usr/bin/python3", [script, endpoint, jobName, Image])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Nothing of this machine's AWS setup (profiles, config files, other endpoints): only what the host printed.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToArray())
            start.Environment.Remove(name);
        start.Environment["HOME"] = home.Path;
        foreach (var (name, value) in exports) start.Environment[name] = value;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"botocore failed ({process.ExitCode}); is python3-botocore installed (eng/install-prerequisites.sh)?\n{await stderr}");
        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }
}
