using Strata.Aws.Json;

namespace Strata.Aws.SageMaker;

/// <summary>The SageMaker training-job operations Strata uses, over the JSON 1.1 protocol.</summary>
internal sealed class SageMakerClient(AwsJsonClient json)
{
    public SageMakerClient(AwsClientOptions options) : this(options.JsonClient(AwsJsonService.SageMaker, options.SageMakerEndpoint))
    {
    }

    public AwsJsonClient Json => json;

    /// <summary>Starts a training job; returns its ARN.</summary>
    /// <exception cref="AwsServiceException"><c>ResourceInUse</c> when a job of that name exists (names are unique per account and region, forever),
    /// <c>ValidationException</c>, <c>ResourceLimitExceeded</c>, ...</exception>
    public async Task<string> CreateTrainingJobAsync(CreateTrainingJobRequest request, CancellationToken cancellationToken) =>
        (await json.SendAsync<CreateTrainingJobRequest, CreateTrainingJobResponse>("CreateTrainingJob", request,
            cancellationToken).ConfigureAwait(false)).TrainingJobArn;

    /// <exception cref="AwsServiceException"><c>ValidationException</c> "Requested resource not found." for an unknown job.</exception>
    public Task<DescribeTrainingJobResponse> DescribeTrainingJobAsync(string trainingJobName, CancellationToken cancellationToken) =>
        json.SendAsync<TrainingJobNameRequest, DescribeTrainingJobResponse>("DescribeTrainingJob", new TrainingJobNameRequest(trainingJobName),
            cancellationToken);

    /// <summary>Asks SageMaker to stop a job (SIGTERM, then SIGKILL after 120 s); the job goes Stopping → Stopped.</summary>
    /// <exception cref="AwsServiceException"><c>ValidationException</c> when the job is unknown or no longer running.</exception>
    public async Task StopTrainingJobAsync(string trainingJobName, CancellationToken cancellationToken) =>
        await json.SendRawAsync("StopTrainingJob",
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new TrainingJobNameRequest(trainingJobName), AwsJsonService.SageMaker.Json),
            cancellationToken).ConfigureAwait(false);

    /// <summary>Whether an error says the job does not exist (SageMaker answers ValidationException for that).</summary>
    public static bool IsNotFound(AwsServiceException e) =>
        e.ErrorCode is "ResourceNotFound" || (e.ErrorCode == "ValidationException" && e.ErrorMessage.Contains("not found", StringComparison.OrdinalIgnoreCase));
}
