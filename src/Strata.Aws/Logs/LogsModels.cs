namespace Strata.Aws.Logs;

// The members of CloudWatch Logs' API (2014-03-28) that Strata uses; serialized camelCase as AWS names them.

internal sealed record GetLogEventsRequest
{
    public required string LogGroupName { get; init; }
    public required string LogStreamName { get; init; }
    /// <summary>Milliseconds since the epoch, inclusive.</summary>
    public long? StartTime { get; init; }
    /// <summary>Milliseconds since the epoch, exclusive.</summary>
    public long? EndTime { get; init; }
    public string? NextToken { get; init; }
    public int? Limit { get; init; }
    /// <summary>Must be true when <see cref="NextToken"/> is a forward token.</summary>
    public bool? StartFromHead { get; init; }
}

internal sealed record GetLogEventsResponse
{
    public IReadOnlyList<OutputLogEvent> Events { get; init; } = [];
    public string? NextForwardToken { get; init; }
    public string? NextBackwardToken { get; init; }
}

internal sealed record OutputLogEvent
{
    /// <summary>Milliseconds since the epoch.</summary>
    public long Timestamp { get; init; }
    public string Message { get; init; } = "";
    public long IngestionTime { get; init; }
}

internal sealed record DescribeLogStreamsRequest
{
    public required string LogGroupName { get; init; }
    public string? LogStreamNamePrefix { get; init; }
    /// <summary><c>LogStreamName</c> (default) or <c>LastEventTime</c>.</summary>
    public string? OrderBy { get; init; }
    public bool? Descending { get; init; }
    public string? NextToken { get; init; }
    public int? Limit { get; init; }
}

internal sealed record DescribeLogStreamsResponse
{
    public IReadOnlyList<LogStream> LogStreams { get; init; } = [];
    public string? NextToken { get; init; }
}

internal sealed record LogStream
{
    public string LogStreamName { get; init; } = "";
    public long? CreationTime { get; init; }
    public long? FirstEventTimestamp { get; init; }
    public long? LastEventTimestamp { get; init; }
    public long? LastIngestionTime { get; init; }
    public string? Arn { get; init; }
}
