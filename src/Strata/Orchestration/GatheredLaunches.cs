namespace Strata;

/// <summary>
/// Tells the step operators that gather launches (<see cref="StepOperator.SubmitWindow"/>) which steps are on their way to
/// them, so a gathering is handed over as soon as every ready step has come rather than a window later. A step is expected
/// from the moment its last upstream step has an outcome, before the steps waiting on that one go on, so no launch of a
/// wave can reach the operator before the rest of the wave is expected.
/// </summary>
internal sealed class GatheredLaunches
{
    private readonly SubmitGatherer?[] _gatherers; // by node index; null where the step's operator does not gather
    private readonly int[] _waiting;               // the upstream steps each step still waits for
    private readonly List<StepNode>?[] _downstream;

    private GatheredLaunches(PipelineDefinition pipeline, SubmitGatherer?[] gatherers)
    {
        _gatherers = gatherers;
        _waiting = new int[pipeline.Nodes.Count];
        _downstream = new List<StepNode>?[pipeline.Nodes.Count];
        foreach (var node in pipeline.Nodes)
        {
            _waiting[node.Index] = node.Upstream.Count;
            foreach (var upstream in node.Upstream) (_downstream[upstream.Index] ??= []).Add(node);
        }
        foreach (var node in pipeline.Nodes)
            if (_waiting[node.Index] == 0) _gatherers[node.Index]?.Expect(node.Name);
    }

    /// <summary>Null when no step of the run goes to an operator that gathers; otherwise the run's first steps are expected now.</summary>
    public static GatheredLaunches? For(PipelineDefinition pipeline, IReadOnlyDictionary<StepNode, StepPlan> plans, TimeProvider time)
    {
        SubmitGatherer?[]? gatherers = null;
        foreach (var node in pipeline.Nodes)
            if (plans[node].Operator is { SubmitWindow: { } window } op)
                (gatherers ??= new SubmitGatherer?[pipeline.Nodes.Count])[node.Index] = op.GathererFor(window, time);
        return gatherers is null ? null : new GatheredLaunches(pipeline, gatherers);
    }

    /// <summary>Whether the step's operator gathers launches.</summary>
    public bool Gathers(StepNode node) => _gatherers[node.Index] is not null;

    /// <summary>The step has its outcome: it is no longer on its way, and the steps it was the last input of are.</summary>
    public void Ended(StepNode node)
    {
        _gatherers[node.Index]?.Abandon(node.Name);
        foreach (var next in _downstream[node.Index] ?? [])
            if (Interlocked.Decrement(ref _waiting[next.Index]) == 0) _gatherers[next.Index]?.Expect(next.Name);
    }
}
