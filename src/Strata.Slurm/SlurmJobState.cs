using System.Globalization;

namespace Strata.Slurm;

/// <summary>The few phases a step operator acts on; the Slurm state itself stays in <see cref="SlurmJobState.SlurmState"/>.</summary>
internal enum SlurmJobPhase
{
    /// <summary>Not started yet (PENDING, CONFIGURING, REQUEUED, ...); the reason says why.</summary>
    Pending,
    /// <summary>Started and not finished (RUNNING, COMPLETING, SUSPENDED, ...).</summary>
    Running,
    /// <summary>COMPLETED: the batch script exited 0.</summary>
    Completed,
    /// <summary>Ended without success: FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, ...</summary>
    Failed,
    /// <summary>CANCELLED by a user or an administrator (scancel, DELETE /job).</summary>
    Cancelled,
    /// <summary>A state this client does not know; not terminal, so a caller keeps polling.</summary>
    Unknown,
}

/// <summary>How a finished job's batch script ended: an exit code, or the signal that killed it.</summary>
internal readonly record struct SlurmExitStatus(int ExitCode, int Signal)
{
    /// <summary>A raw wait status as slurmrestd v0.0.38 and <c>squeue -O exit_code</c> report it (exit 2 → 512, SIGTERM → 15).</summary>
    public static SlurmExitStatus FromWaitStatus(long raw)
    {
        // Slurm's NO_VAL-style sentinels (and negative values) mean "no exit status yet".
        if (raw < 0 || raw > 0xFFFF) return default;
        return new((int)((raw >> 8) & 0xFF), (int)(raw & 0x7F));
    }

    /// <summary><c>scontrol show job</c>'s <c>ExitCode=exit:signal</c> (exit 3 → <c>3:0</c>, cancelled → <c>0:15</c>).</summary>
    public static SlurmExitStatus ParseScontrol(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return default;
        var parts = value.Split(':');
        var exit = int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var e) ? e : 0;
        var signal = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 0;
        return new(exit, signal);
    }
}

/// <summary>
/// One Slurm job as a step operator sees it. <see cref="ExitCode"/> and <see cref="Signal"/> are set only once the job
/// has ended: the exit code when the batch script exited, the signal when one killed it (a cancelled job: 15).
/// </summary>
internal sealed record SlurmJobState(
    string JobId, string? Name, SlurmJobPhase Phase, string SlurmState, string? Reason, int? ExitCode, int? Signal)
{
    public bool IsTerminal => Phase is SlurmJobPhase.Completed or SlurmJobPhase.Failed or SlurmJobPhase.Cancelled;

    /// <summary>
    /// Builds the state from what Slurm reports. <paramref name="slurmState"/> is JobState as Slurm prints it (flags
    /// after a space or '+' are ignored); a reason of "None" means none.
    /// </summary>
    public static SlurmJobState Create(string jobId, string? name, string slurmState, string? reason, SlurmExitStatus exit)
    {
        var state = Normalize(slurmState);
        var phase = PhaseOf(state);
        reason = string.IsNullOrWhiteSpace(reason) || reason is "None" or "(null)" ? null : reason.Trim();
        int? exitCode = null, signal = null;
        // A job cancelled while it ran reads CANCELLED before its node has reported how the script ended (0:0 until then), and a
        // job cancelled before it ran never has an exit status: a cancelled job's 0:0 is no exit code.
        if (phase is SlurmJobPhase.Completed or SlurmJobPhase.Failed || (phase is SlurmJobPhase.Cancelled && exit != default))
        {
            if (exit.Signal != 0) signal = exit.Signal;
            else exitCode = exit.ExitCode;
        }
        return new(jobId, string.IsNullOrEmpty(name) ? null : name, phase, state, reason, exitCode, signal);
    }

    /// <summary>The phase a Slurm job state maps to (the table step operators rely on).</summary>
    public static SlurmJobPhase PhaseOf(string slurmState) => Normalize(slurmState) switch
    {
        "PENDING" or "CONFIGURING" or "REQUEUED" or "REQUEUE_FED" or "REQUEUE_HOLD" or "RESV_DEL_HOLD" => SlurmJobPhase.Pending,
        "RUNNING" or "COMPLETING" or "SUSPENDED" or "STOPPED" or "SIGNALING" or "STAGE_OUT" or "RESIZING" => SlurmJobPhase.Running,
        "COMPLETED" => SlurmJobPhase.Completed,
        "FAILED" or "TIMEOUT" or "OUT_OF_MEMORY" or "NODE_FAIL" or "PREEMPTED" or "BOOT_FAIL" or "DEADLINE" or "SPECIAL_EXIT"
            => SlurmJobPhase.Failed,
        "CANCELLED" or "REVOKED" => SlurmJobPhase.Cancelled,
        _ => SlurmJobPhase.Unknown,
    };

    /// <summary>One line for a person: the state, why, and how the script ended.</summary>
    public string Describe()
    {
        var what = SlurmState switch
        {
            "PENDING" => "pending",
            "CONFIGURING" => "pending: its nodes are being configured",
            "REQUEUED" or "REQUEUE_FED" => "pending: requeued",
            "REQUEUE_HOLD" or "RESV_DEL_HOLD" => "pending: held",
            "RUNNING" => "running",
            "COMPLETING" => "completing",
            "SUSPENDED" or "STOPPED" => "suspended",
            "COMPLETED" => "completed",
            "FAILED" => "failed",
            "TIMEOUT" => "failed: it reached its time limit",
            "OUT_OF_MEMORY" => "failed: it ran out of memory",
            "NODE_FAIL" => "failed: a node it ran on failed",
            "PREEMPTED" => "failed: it was preempted",
            "BOOT_FAIL" => "failed: its node failed to boot",
            "DEADLINE" => "failed: it could not finish before its deadline",
            "CANCELLED" => "cancelled",
            "REVOKED" => "cancelled: a federated sibling ran it",
            _ => SlurmState.ToLowerInvariant(),
        };
        var text = $"Slurm job {JobId} {what}";
        if (Reason is not null && Phase is not SlurmJobPhase.Completed) text += $" (reason: {Reason})";
        if (Signal is { } s) text += $", killed by signal {s}";
        else if (ExitCode is { } e && Phase is not SlurmJobPhase.Completed) text += $", exit code {e}";
        return text;
    }

    private static string Normalize(string slurmState)
    {
        var s = slurmState.Trim();
        var cut = s.IndexOfAny([' ', '+', ',']);
        return (cut < 0 ? s : s[..cut]).ToUpperInvariant();
    }
}
