using Amazon.Runtime;
using Strata.Aws.Json;
using Strata.Aws.Logs;
using Strata.Aws.SageMaker;
using Strata.Emulators.Aws;
using Strata.Emulators.Jobs;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>An emulator with one caller and one image, and the real clients pointed at it.</summary>
internal sealed class EmulatorHarness : IAsyncDisposable
{
    public const string AccessKey = "AKIASTRATATESTKEY001";
    public const string SecretKey = "strata/test/secret+key/0123456789abcdefghij";
    public const string Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-step:1";
    public const string Role = "arn:aws:iam::123456789012:role/strata-training";

    private EmulatorHarness(SageMakerEmulator emulator, AwsClientOptions clientOptions)
    {
        Emulator = emulator;
        ClientOptions = clientOptions;
        SageMaker = new SageMakerClient(clientOptions);
        Logs = new CloudWatchLogsClient(clientOptions);
    }

    public SageMakerEmulator Emulator { get; }
    public AwsClientOptions ClientOptions { get; }
    public SageMakerClient SageMaker { get; }
    public CloudWatchLogsClient Logs { get; }

    public static async Task<EmulatorHarness> StartAsync(Action<SageMakerEmulatorOptions>? configure = null, string secretKey = SecretKey, int maxRetries = 8)
    {
        var options = new SageMakerEmulatorOptions
        {
            Credentials = { [AccessKey] = SecretKey },
            Images = { [Image] = new EmulatedImage { Entrypoint = ["/bin/sh", "-c"], Arguments = ["echo no command given"] } },
            StopGracePeriod = TimeSpan.FromSeconds(3),
        };
        configure?.Invoke(options);
        var emulator = await SageMakerEmulator.StartAsync(options);
        var clientOptions = new AwsClientOptions
        {
            Region = options.Region,
            Credentials = new BasicAWSCredentials(AccessKey, secretKey),
            SageMakerEndpoint = emulator.Endpoint,
            LogsEndpoint = emulator.Endpoint,
            Retry = new AwsRetryOptions { MaxRetries = maxRetries, BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(100) },
        };
        return new EmulatorHarness(emulator, clientOptions);
    }

    public static CreateTrainingJobRequest Job(string name, string script, int maxRuntimeSeconds = 600, IReadOnlyDictionary<string, string>? environment = null) => new()
    {
        TrainingJobName = name,
        AlgorithmSpecification = new AlgorithmSpecification
        {
            TrainingImage = Image,
            TrainingInputMode = "File",
            ContainerEntrypoint = ["/bin/sh", "-c"],
            ContainerArguments = [script],
        },
        RoleArn = Role,
        OutputDataConfig = new OutputDataConfig { S3OutputPath = "s3://strata-bucket/training-output" },
        ResourceConfig = new ResourceConfig { InstanceType = "ml.m5.large", InstanceCount = 1, VolumeSizeInGB = 30 },
        StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = maxRuntimeSeconds },
        Environment = environment,
    };

    public static string NewName() => $"strata-test-{Guid.NewGuid():n}"[..32];

    /// <summary>Polls DescribeTrainingJob until the job ends; returns every (status, secondary status) seen, in order, and the last answer.</summary>
    public async Task<(List<(string Status, string Secondary)> Seen, DescribeTrainingJobResponse Final)> WaitAsync(string name, TimeSpan? timeout = null, Func<DescribeTrainingJobResponse, Task>? onPoll = null)
    {
        var seen = new List<(string, string)>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var job = await SageMaker.DescribeTrainingJobAsync(name, CancellationToken.None);
            if (seen.Count == 0 || seen[^1] != (job.TrainingJobStatus, job.SecondaryStatus)) seen.Add((job.TrainingJobStatus, job.SecondaryStatus));
            if (onPoll is not null) await onPoll(job);
            if (job.IsTerminal) return (seen, job);
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {name} still {job.TrainingJobStatus}/{job.SecondaryStatus}; seen {string.Join(" → ", seen)}");
            await Task.Delay(20);
        }
    }

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}
