using System.Text.Json.Nodes;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure;

/// <summary>A command job of a workspace: the request as created, its state and run, its process and log file.</summary>
internal sealed class MlJob
{
    public required string Name { get; init; }
    public required MlWorkspace Workspace { get; init; }
    public required JsonObject Properties { get; init; }
    public required string ApiVersion { get; init; }
    public required string Directory { get; init; }
    public required string CreatedBy { get; init; }
    public required Entra.ManagedIdentity Identity { get; init; }
    public string? Compute { get; init; }
    public string? Image { get; init; }
    public string Status { get; set; } = "NotStarted";
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Modified { get; set; }
    public DateTimeOffset? Started { get; set; }
    public DateTimeOffset? Ended { get; set; }
    public JsonObject? Error { get; set; }
    public List<string> Warnings { get; } = [];
    public JobProcess? Process { get; set; }
    public int? ExitCode { get; set; }
    public TaskCompletionSource CancelRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Task Runner { get; set; } = Task.CompletedTask;
    public List<string> History { get; } = [];
    public Lock LogLock { get; } = new();
    public string LogPath => Path.Combine(Directory, "user_logs", "std_log.txt");
    public bool IsTerminal => Status is "Completed" or "Failed" or "Canceled";
}
