namespace Strata.Aws.SageMaker;

/// <summary>How a training job's SageMaker status reads as a step job's state.</summary>
internal static class TrainingJobStates
{
    /// <summary>Secondary statuses of a job that has not started the step yet: it waits for instances, the image or its input.</summary>
    private static readonly HashSet<string> Waiting = new(StringComparer.Ordinal)
    {
        SecondaryStatus.Starting, "LaunchingMLInstances", "PreparingTrainingStack", SecondaryStatus.Downloading, "DownloadingTrainingImage", "Pending",
    };

    /// <summary>
    /// InProgress while Starting, Downloading, ... → <see cref="StepJobState.Queued"/> with the secondary status as the reason;
    /// InProgress from Training on, and Stopping → <see cref="StepJobState.Running"/> (Stopping is not an end: the job's
    /// process may still run); Completed → Succeeded; Failed → Failed with SageMaker's FailureReason; Stopped → Cancelled,
    /// or Failed when SageMaker stopped it for MaxRuntimeExceeded or MaxWaitTimeExceeded.
    /// </summary>
    public static StepJobStatus ToStatus(DescribeTrainingJobResponse job) => job.TrainingJobStatus switch
    {
        TrainingJobStatus.InProgress when Waiting.Contains(job.SecondaryStatus) => new StepJobStatus(StepJobState.Queued, Reason(job)),
        TrainingJobStatus.InProgress or TrainingJobStatus.Stopping => new StepJobStatus(StepJobState.Running, Reason(job)),
        TrainingJobStatus.Completed => new StepJobStatus(StepJobState.Succeeded),
        TrainingJobStatus.Failed => new StepJobStatus(StepJobState.Failed,
            string.IsNullOrWhiteSpace(job.FailureReason) ? "SageMaker gives no failure reason; see the job's log" : job.FailureReason),
        TrainingJobStatus.Stopped when job.SecondaryStatus == SecondaryStatus.MaxRuntimeExceeded => new StepJobStatus(StepJobState.Failed,
            $"MaxRuntimeExceeded: SageMaker stopped the job after its maximum run time{Seconds(job.StoppingCondition?.MaxRuntimeInSeconds)}; raise max_run " +
            "or the step's timeout"),
        TrainingJobStatus.Stopped when job.SecondaryStatus == SecondaryStatus.MaxWaitTimeExceeded => new StepJobStatus(StepJobState.Failed,
            $"MaxWaitTimeExceeded: the spot job did not finish within its maximum wait time{Seconds(job.StoppingCondition?.MaxWaitTimeInSeconds)}, waiting " +
            "for capacity included; raise max_wait"),
        TrainingJobStatus.Stopped => new StepJobStatus(StepJobState.Cancelled, "stopped"),
        _ => new StepJobStatus(StepJobState.Running, $"{job.TrainingJobStatus}/{job.SecondaryStatus}"),
    };

    /// <summary>The secondary status and what SageMaker says about it, e.g. <c>Starting: Launching requested ML instances</c>.</summary>
    public static string Reason(DescribeTrainingJobResponse job)
    {
        var message = job.SecondaryStatusTransitions is { Count: > 0 } transitions && transitions[^1].Status == job.SecondaryStatus
            ? transitions[^1].StatusMessage
            : null;
        return string.IsNullOrWhiteSpace(message) ? job.SecondaryStatus : $"{job.SecondaryStatus}: {message}";
    }

    private static string Seconds(int? seconds) => seconds is { } s ? $" ({s.ToString(System.Globalization.CultureInfo.InvariantCulture)} s)" : "";
}
