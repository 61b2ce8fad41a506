using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Gcp.Vertex;

/// <summary>How a custom job's Vertex AI state reads as a step job's state: all twelve JOB_STATE_* values.</summary>
internal static partial class CustomJobStates
{
    public static bool IsEnded(string? state) => state is "JOB_STATE_SUCCEEDED" or "JOB_STATE_FAILED" or "JOB_STATE_CANCELLED" or "JOB_STATE_EXPIRED"
        or "JOB_STATE_PARTIALLY_SUCCEEDED";

    /// <summary>
    /// QUEUED, PENDING, PAUSED and UNSPECIFIED → <see cref="StepJobState.Queued"/> with the reason; RUNNING, UPDATING and CANCELLING →
    /// Running (a cancelling job's process may still run); SUCCEEDED → Succeeded; FAILED, EXPIRED and PARTIALLY_SUCCEEDED → Failed
    /// with Vertex AI's error; CANCELLED → Cancelled.
    /// </summary>
    public static StepJobStatus ToStatus(JsonObject job, string machine)
    {
        var state = (string?)job["state"] ?? "JOB_STATE_UNSPECIFIED";
        var error = (string?)job["error"]?["message"];
        return state switch
        {
            "JOB_STATE_QUEUED" => new StepJobStatus(StepJobState.Queued, "JOB_STATE_QUEUED: Vertex AI has accepted the job and not yet started it"),
            "JOB_STATE_PENDING" => new StepJobStatus(StepJobState.Queued,
                $"JOB_STATE_PENDING: Vertex AI is provisioning {machine} (it waits for capacity in the region when there is none)"),
            "JOB_STATE_PAUSED" => new StepJobStatus(StepJobState.Queued, "JOB_STATE_PAUSED: the job is paused"),
            "JOB_STATE_UNSPECIFIED" => new StepJobStatus(StepJobState.Queued, "Vertex AI reports no state for the job yet"),
            "JOB_STATE_RUNNING" => new StepJobStatus(StepJobState.Running),
            "JOB_STATE_UPDATING" => new StepJobStatus(StepJobState.Running, "JOB_STATE_UPDATING"),
            "JOB_STATE_CANCELLING" => new StepJobStatus(StepJobState.Running, "JOB_STATE_CANCELLING: Vertex AI is stopping the job"),
            "JOB_STATE_SUCCEEDED" => new StepJobStatus(StepJobState.Succeeded),
            "JOB_STATE_CANCELLED" => new StepJobStatus(StepJobState.Cancelled, "JOB_STATE_CANCELLED"),
            "JOB_STATE_EXPIRED" => new StepJobStatus(StepJobState.Failed, $"JOB_STATE_EXPIRED: the job expired before it could run{Detail(error)}"),
            "JOB_STATE_PARTIALLY_SUCCEEDED" => new StepJobStatus(StepJobState.Failed,
                $"JOB_STATE_PARTIALLY_SUCCEEDED: only some of the job's work succeeded{Detail(error)}"),
            "JOB_STATE_FAILED" => new StepJobStatus(StepJobState.Failed,
                $"JOB_STATE_FAILED: {(string.IsNullOrWhiteSpace(error) ? "Vertex AI gives no reason; see the job's log" : error)}", ExitCode(error)),
            _ => new StepJobStatus(StepJobState.Running, state),
        };
    }

    private static string Detail(string? error) => string.IsNullOrWhiteSpace(error) ? "" : $": {error}";

    /// <summary>"The replica workerpool0-0 exited with a non-zero status of 3." → 3.</summary>
    private static int? ExitCode(string? error) =>
        error is not null && NonZero().Match(error) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"non-zero status of (\d+)")]
    private static partial Regex NonZero();
}
