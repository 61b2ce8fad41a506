using Strata.Testing;

namespace Strata.StepOperatorTests;

/// <summary>
/// The built-in <c>local-process</c> operator: the conformance suite, and (in the other parts of this class) what only a
/// local process does: its working directory, SIGTERM before SIGKILL, the stderr tail of a crash, standby processes.
/// </summary>
public sealed partial class LocalProcessOperatorTests : StepOperatorConformance
{
    protected override string Flavor => "local-process";

    protected override ResourceSupport Resources => ResourceSupport.Warned("max_concurrent");

    protected override QueueSupport Queue => QueueSupport.None("a local process starts at once: a step that waits for a slot (max_concurrent) has no job yet");

    // Each step runs in its own session: the job's pid is its process group, which holds everything the step started.
    protected override Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job) => Task.FromResult(ConformanceProcesses.InGroup(job.Data["pid"]));

    protected override Task<string> JobSpecAsync(StepJob job) => Task.FromResult(string.Join('\n', ConformanceProcesses.InGroup(job.Data["pid"])));
}
