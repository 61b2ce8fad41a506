namespace Strata.Azure.MachineLearning;

/// <summary>How an Azure ML job's status reads as a step job's state: all of Azure ML's JobStatus values.</summary>
internal static class AzureMLJobStates
{
    public static bool IsEnded(string? status) => status is "Completed" or "Failed" or "Canceled" or "NotResponding";

    /// <summary>
    /// NotStarted, Queued, Preparing, Provisioning, Starting and Paused → <see cref="StepJobState.Queued"/> with the reason; Running,
    /// Finalizing and CancelRequested → Running (the job's process may still run); Completed → Succeeded; Failed and NotResponding →
    /// Failed with Azure ML's error; Canceled → Cancelled. <paramref name="detail"/> is run history's word on the job: the error
    /// of a failed one, the scheduler's message about a waiting one.
    /// </summary>
    public static StepJobStatus ToStatus(string? status, string compute, string? detail = null) => status switch
    {
        "NotStarted" => new StepJobStatus(StepJobState.Queued, $"NotStarted: Azure ML has accepted the job and not yet scheduled it{Detail(detail)}"),
        "Queued" => new StepJobStatus(StepJobState.Queued, $"Queued: waiting for {compute} to have a free node" +
            (string.IsNullOrWhiteSpace(detail) ? " (a cluster scales up, or waits for capacity or quota, when it has none)" : $": {detail}")),
        "Preparing" => new StepJobStatus(StepJobState.Queued, "Preparing: Azure ML is preparing the job's environment (pulling or building its image)"),
        "Provisioning" => new StepJobStatus(StepJobState.Queued, $"Provisioning: Azure ML is provisioning {compute}"),
        "Starting" => new StepJobStatus(StepJobState.Queued, "Starting: the job's container is starting"),
        "Paused" => new StepJobStatus(StepJobState.Queued, "Paused: the job is paused"),
        "Running" => new StepJobStatus(StepJobState.Running),
        "Finalizing" => new StepJobStatus(StepJobState.Running, "Finalizing: the job's process has ended; Azure ML is uploading its outputs and logs"),
        "CancelRequested" => new StepJobStatus(StepJobState.Running, "CancelRequested: Azure ML is stopping the job"),
        "Completed" => new StepJobStatus(StepJobState.Succeeded),
        "Canceled" => new StepJobStatus(StepJobState.Cancelled, "Canceled"),
        "NotResponding" => new StepJobStatus(StepJobState.Failed, $"NotResponding: Azure ML lost contact with the job{Detail(detail)}"),
        "Failed" => new StepJobStatus(StepJobState.Failed,
            $"Failed: {(string.IsNullOrWhiteSpace(detail) ? "Azure ML gives no reason; see the job's log" : detail)}", ExitCode(detail)),
        null => new StepJobStatus(StepJobState.Queued, "Azure ML reports no status for the job yet"),
        _ => new StepJobStatus(StepJobState.Running, status),
    };

    private static string Detail(string? error) => string.IsNullOrWhiteSpace(error) ? "" : $": {error}";

    /// <summary>The exit code in Azure ML's error message, when it gives one ("... exit code: 3", "exited with code 3").</summary>
    private static int? ExitCode(string? error)
    {
        if (error is null) return null;
        var match = System.Text.RegularExpressions.Regex.Match(error, @"(?:exit code|exited with code|exit status)[:= ]*(-?\d+)",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return match.Success && int.TryParse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : null;
    }
}
