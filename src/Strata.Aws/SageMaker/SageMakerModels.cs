namespace Strata.Aws.SageMaker;

// The members of SageMaker's API (2017-07-24) that Strata uses, named exactly as AWS names them.
// Absent (null) members are not sent; unknown members of responses are ignored.

internal sealed record CreateTrainingJobRequest
{
    public required string TrainingJobName { get; init; }
    public required AlgorithmSpecification AlgorithmSpecification { get; init; }
    public required string RoleArn { get; init; }
    public required OutputDataConfig OutputDataConfig { get; init; }
    public required ResourceConfig ResourceConfig { get; init; }
    public required StoppingCondition StoppingCondition { get; init; }
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    public IReadOnlyDictionary<string, string>? HyperParameters { get; init; }
    public IReadOnlyList<Channel>? InputDataConfig { get; init; }
    public VpcConfig? VpcConfig { get; init; }
    public IReadOnlyList<Tag>? Tags { get; init; }
    public bool? EnableNetworkIsolation { get; init; }
    public bool? EnableManagedSpotTraining { get; init; }
    public CheckpointConfig? CheckpointConfig { get; init; }
    public ExperimentConfig? ExperimentConfig { get; init; }
}

/// <summary>An input channel: SageMaker copies (File mode) the data under <see cref="S3DataSource.S3Uri"/> to
/// <c>/opt/ml/input/data/&lt;ChannelName&gt;</c>.</summary>
internal sealed record Channel
{
    public required string ChannelName { get; init; }
    public required DataSource DataSource { get; init; }
    public string? InputMode { get; init; }
}

internal sealed record DataSource(S3DataSource S3DataSource);

internal sealed record S3DataSource
{
    /// <summary><c>S3Prefix</c>, <c>ManifestFile</c> or <c>AugmentedManifestFile</c>.</summary>
    public string S3DataType { get; init; } = "S3Prefix";
    public required string S3Uri { get; init; }
    /// <summary><c>FullyReplicated</c> or <c>ShardedByS3Key</c>.</summary>
    public string? S3DataDistributionType { get; init; }
}

internal sealed record ExperimentConfig
{
    public string? ExperimentName { get; init; }
    public string? TrialName { get; init; }
    public string? TrialComponentDisplayName { get; init; }
    public string? RunName { get; init; }
}

internal sealed record AlgorithmSpecification
{
    public string? TrainingImage { get; init; }
    /// <summary><c>File</c>, <c>Pipe</c> or <c>FastFile</c>.</summary>
    public string TrainingInputMode { get; init; } = "File";
    public IReadOnlyList<string>? ContainerEntrypoint { get; init; }
    public IReadOnlyList<string>? ContainerArguments { get; init; }
}

internal sealed record OutputDataConfig
{
    public required string S3OutputPath { get; init; }
    public string? KmsKeyId { get; init; }
}

internal sealed record ResourceConfig
{
    public string? InstanceType { get; init; }
    public int? InstanceCount { get; init; }
    public required int VolumeSizeInGB { get; init; }
    public string? VolumeKmsKeyId { get; init; }
    public int? KeepAlivePeriodInSeconds { get; init; }
}

internal sealed record StoppingCondition
{
    public int? MaxRuntimeInSeconds { get; init; }
    public int? MaxWaitTimeInSeconds { get; init; }
}

internal sealed record VpcConfig(IReadOnlyList<string> SecurityGroupIds, IReadOnlyList<string> Subnets);

internal sealed record Tag(string Key, string Value);

internal sealed record CheckpointConfig
{
    public required string S3Uri { get; init; }
    public string? LocalPath { get; init; }
}

internal sealed record CreateTrainingJobResponse(string TrainingJobArn);

internal sealed record TrainingJobNameRequest(string TrainingJobName);

internal sealed record DescribeTrainingJobResponse
{
    public string TrainingJobName { get; init; } = "";
    public string TrainingJobArn { get; init; } = "";
    /// <summary><see cref="TrainingJobStatus"/> values.</summary>
    public string TrainingJobStatus { get; init; } = "";
    /// <summary><see cref="SecondaryStatus"/> values.</summary>
    public string SecondaryStatus { get; init; } = "";
    public string? FailureReason { get; init; }
    public DateTimeOffset CreationTime { get; init; }
    public DateTimeOffset? TrainingStartTime { get; init; }
    public DateTimeOffset? TrainingEndTime { get; init; }
    public DateTimeOffset? LastModifiedTime { get; init; }
    public IReadOnlyList<SecondaryStatusTransition>? SecondaryStatusTransitions { get; init; }
    public ModelArtifacts? ModelArtifacts { get; init; }
    public AlgorithmSpecification? AlgorithmSpecification { get; init; }
    public ResourceConfig? ResourceConfig { get; init; }
    public StoppingCondition? StoppingCondition { get; init; }
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    public int? TrainingTimeInSeconds { get; init; }
    public int? BillableTimeInSeconds { get; init; }

    public bool IsTerminal =>
        TrainingJobStatus is SageMaker.TrainingJobStatus.Completed or SageMaker.TrainingJobStatus.Failed or SageMaker.TrainingJobStatus.Stopped;
}

internal sealed record SecondaryStatusTransition
{
    public string Status { get; init; } = "";
    public DateTimeOffset StartTime { get; init; }
    public DateTimeOffset? EndTime { get; init; }
    public string? StatusMessage { get; init; }
}

internal sealed record ModelArtifacts(string S3ModelArtifacts);

/// <summary>TrainingJobStatus values.</summary>
internal static class TrainingJobStatus
{
    public const string InProgress = "InProgress";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Stopping = "Stopping";
    public const string Stopped = "Stopped";
}

/// <summary>The SecondaryStatus values a training job goes through.</summary>
internal static class SecondaryStatus
{
    public const string Starting = "Starting";
    public const string Downloading = "Downloading";
    public const string Training = "Training";
    public const string Uploading = "Uploading";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Stopping = "Stopping";
    public const string Stopped = "Stopped";
    public const string MaxRuntimeExceeded = "MaxRuntimeExceeded";
    public const string MaxWaitTimeExceeded = "MaxWaitTimeExceeded";
    public const string Interrupted = "Interrupted";
}
