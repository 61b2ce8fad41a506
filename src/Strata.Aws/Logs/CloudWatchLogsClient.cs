using Strata.Aws.Json;

namespace Strata.Aws.Logs;

/// <summary>The CloudWatch Logs reads Strata uses to follow a training job's output, over the JSON 1.1 protocol.</summary>
internal sealed class CloudWatchLogsClient(AwsJsonClient json)
{
    /// <summary>The log group of SageMaker training jobs; streams are named <c>&lt;job name&gt;/algo-&lt;n&gt;-&lt;epoch seconds&gt;</c>.</summary>
    public const string TrainingJobsLogGroup = "/aws/sagemaker/TrainingJobs";

    public CloudWatchLogsClient(AwsClientOptions options) : this(options.JsonClient(AwsJsonService.Logs, options.LogsEndpoint))
    {
    }

    public AwsJsonClient Json => json;

    /// <exception cref="AwsServiceException"><c>ResourceNotFoundException</c> for an unknown group or stream.</exception>
    public Task<GetLogEventsResponse> GetLogEventsAsync(GetLogEventsRequest request, CancellationToken cancellationToken) =>
        json.SendAsync<GetLogEventsRequest, GetLogEventsResponse>("GetLogEvents", request, cancellationToken);

    /// <exception cref="AwsServiceException"><c>ResourceNotFoundException</c> for an unknown group.</exception>
    public Task<DescribeLogStreamsResponse> DescribeLogStreamsAsync(DescribeLogStreamsRequest request, CancellationToken cancellationToken) =>
        json.SendAsync<DescribeLogStreamsRequest, DescribeLogStreamsResponse>("DescribeLogStreams", request, cancellationToken);

    /// <summary>Every log stream of a training job (one per instance), by name.</summary>
    public async Task<IReadOnlyList<LogStream>> TrainingJobStreamsAsync(string trainingJobName, CancellationToken cancellationToken)
    {
        var streams = new List<LogStream>();
        string? token = null;
        do
        {
            var page = await DescribeLogStreamsAsync(new DescribeLogStreamsRequest
            {
                LogGroupName = TrainingJobsLogGroup,
                LogStreamNamePrefix = trainingJobName + "/",
                NextToken = token,
            }, cancellationToken).ConfigureAwait(false);
            streams.AddRange(page.LogStreams);
            token = page.NextToken;
        }
        while (token is not null);
        return streams;
    }

    /// <summary>
    /// The events of a stream after <paramref name="forwardToken"/> (from the start when null), page by page until the
    /// stream has no more for now; returns them with the token to continue from later.
    /// </summary>
    public async Task<(IReadOnlyList<OutputLogEvent> Events, string? NextToken)> ReadForwardAsync(string group, string stream, string? forwardToken,
        CancellationToken cancellationToken)
    {
        var events = new List<OutputLogEvent>();
        var token = forwardToken;
        while (true)
        {
            var page = await GetLogEventsAsync(new GetLogEventsRequest
            {
                LogGroupName = group,
                LogStreamName = stream,
                NextToken = token,
                StartFromHead = true,
            }, cancellationToken).ConfigureAwait(false);
            events.AddRange(page.Events);
            // The end of what is there now: the token comes back unchanged (and the page is empty).
            if (page.NextForwardToken is null || page.NextForwardToken == token) return (events, page.NextForwardToken ?? token);
            token = page.NextForwardToken;
        }
    }
}
