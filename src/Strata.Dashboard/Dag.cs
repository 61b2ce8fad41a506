using System.Globalization;

namespace Strata.Dashboard;

/// <summary>
/// A run's graph as server-drawn SVG: a step is a node coloured by its status, a step reading another's output is an edge.
/// Steps are laid out in layers (each one column right of the furthest step it reads from). A column of more than
/// <see cref="MaxNodesPerColumn"/> steps is drawn as one node per status with its count, and a graph deeper than <see cref="MaxColumns"/>
/// layers shares columns between neighbouring layers (drawn the same way), so a 10,000-step fan-out or chain stays one screen.
/// </summary>
internal static class Dag
{
    public const int MaxNodesPerColumn = 24;
    public const int MaxColumns = 32;
    private const int NodeWidth = 168, NodeHeight = 36, ColumnGap = 56, RowGap = 14, Margin = 12, MaxLabel = 20;

    private sealed class Node(string label, ExecutionStatus status, string? href, int count)
    {
        public string Label { get; } = label;
        public ExecutionStatus Status { get; } = status;
        public string? Href { get; } = href;
        public int Count { get; } = count;

        /// <summary>Whether the node stands for several steps (it links nowhere).</summary>
        public bool Aggregated { get; init; }
        public int Column { get; init; }
        public double Order { get; set; }
        public int X { get; set; }
        public int Y { get; set; }
    }

    /// <summary>A step as drawn: its latest attempt, or none yet (a step the graph names that has no record).</summary>
    private sealed record Step(string Name, ExecutionStatus Status, StepRunRecord? Record);

    /// <param name="steps">Each step's latest attempt.</param>
    /// <param name="inputs">What the run's step runs read.</param>
    /// <param name="outputs">What the run's step runs produced or reused.</param>
    /// <param name="graph">The pipeline's graph kept with the run (step → the steps it reads from), if it was kept.</param>
    /// <param name="runFinished">Whether the run is over: a step without a record then did not run, else it is still to run.</param>
    public static string Render(IReadOnlyList<StepRunRecord> steps, IReadOnlyList<StepArtifactLink> inputs, IReadOnlyList<StepArtifactLink> outputs,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? graph, bool runFinished)
    {
        var all = new Dictionary<string, Step>(StringComparer.Ordinal);
        foreach (var s in steps) all[s.Name] = new Step(s.Name, s.Status, s);
        if (graph is not null)
            foreach (var name in graph.Keys) all.TryAdd(name, new Step(name, ExecutionStatus.Pending, null));
        if (all.Count == 0) return "<p class=\"muted\">No steps recorded yet.</p>";

        var (edges, edgeLabels) = Edges(steps, inputs, outputs, graph, all);
        var layer = Layers(all.Keys, edges);
        var depth = layer.Values.Max() + 1;
        int ColumnOf(string name) => depth <= MaxColumns ? layer[name] : (int)((long)layer[name] * MaxColumns / depth);

        // Nodes per column, aggregated by status where a column is too tall, or holds several layers, to draw step by step.
        var nodeOf = new Dictionary<string, Node>(StringComparer.Ordinal);
        var columns = new List<List<Node>>();
        foreach (var group in all.Values.GroupBy(s => ColumnOf(s.Name)).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            var nodes = new List<Node>();
            if (members.Length > MaxNodesPerColumn || (members.Length > 1 && members.Select(s => layer[s.Name]).Distinct().Skip(1).Any()))
            {
                foreach (var byStatus in members.GroupBy(s => s.Status).OrderBy(g => g.Key))
                {
                    var count = byStatus.Count();
                    var n = new Node(count == 1 ? "1 step" : $"{count} steps", byStatus.Key, null, count)
                    {
                        Column = group.Key, Aggregated = true,
                    };
                    nodes.Add(n);
                    foreach (var s in byStatus) nodeOf[s.Name] = n;
                }
            }
            else
            {
                foreach (var s in members.OrderBy(s => s.Record?.StartedAt ?? s.Record?.FinishedAt ?? DateTimeOffset.MaxValue)
                    .ThenBy(s => s.Name, StringComparer.Ordinal))
                {
                    var n = new Node(s.Name, s.Status, s.Record is null ? null : "/steps/" + Html.Seg(s.Record.Id), 1) { Column = group.Key };
                    nodes.Add(n);
                    nodeOf[s.Name] = n;
                }
            }
            while (columns.Count <= group.Key) columns.Add([]);
            columns[group.Key] = nodes;
        }
        var nodeEdges = new HashSet<(Node From, Node To)>();
        var nodeEdgeLabel = new Dictionary<(Node, Node), string>();
        foreach (var (from, to) in edges)
        {
            if (!nodeOf.TryGetValue(from, out var a) || !nodeOf.TryGetValue(to, out var b) || a == b) continue;
            if (nodeEdges.Add((a, b))) nodeEdgeLabel[(a, b)] = edgeLabels.GetValueOrDefault((from, to), $"{from} → {to}");
        }
        Place(columns, nodeEdges, out var width, out var height);
        return Svg(all.Values, columns, nodeEdges, nodeEdgeLabel, width, height, runFinished);
    }

    /// <summary>
    /// Who reads from whom: the kept graph's edges, and the artifacts the records show one step reading from another (the producer, or the
    /// cached step that reused the artifact), labelled with the output and input names.
    /// </summary>
    private static (HashSet<(string From, string To)> Edges, Dictionary<(string, string), string> Labels) Edges(IReadOnlyList<StepRunRecord> steps,
        IReadOnlyList<StepArtifactLink> inputs, IReadOnlyList<StepArtifactLink> outputs, IReadOnlyDictionary<string, IReadOnlyList<string>>? graph,
        Dictionary<string, Step> all)
    {
        var nameOfRun = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in steps) nameOfRun[s.Id] = s.Name;
        var holder = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in outputs)
            if (nameOfRun.TryGetValue(o.StepRunId, out var name)) holder.TryAdd(o.Artifact.Id, name);
        var edges = new HashSet<(string From, string To)>();
        var labels = new Dictionary<(string, string), string>();
        foreach (var i in inputs)
        {
            if (!nameOfRun.TryGetValue(i.StepRunId, out var to) || !holder.TryGetValue(i.Artifact.Id, out var from) || from == to) continue;
            if (edges.Add((from, to))) labels[(from, to)] = i.Artifact.OutputName + " → " + i.Name;
        }
        if (graph is not null)
            foreach (var (to, upstream) in graph)
                foreach (var from in upstream)
                    if (from != to && all.ContainsKey(from)) edges.Add((from, to));
        return (edges, labels);
    }

    /// <summary>Each step's layer: the longest path to it from a step that reads from none (in topological order, so deep chains need no recursion).</summary>
    private static Dictionary<string, int> Layers(IEnumerable<string> names, HashSet<(string From, string To)> edges)
    {
        var layer = names.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        var next = layer.Keys.ToDictionary(n => n, _ => new List<string>(), StringComparer.Ordinal);
        var waiting = layer.Keys.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        foreach (var (from, to) in edges)
        {
            next[from].Add(to);
            waiting[to]++;
        }
        var ready = new Queue<string>(waiting.Where(w => w.Value == 0).Select(w => w.Key));
        while (ready.TryDequeue(out var name))
            foreach (var to in next[name])
            {
                layer[to] = Math.Max(layer[to], layer[name] + 1);
                if (--waiting[to] == 0) ready.Enqueue(to);
            }
        return layer; // records never form a cycle (the pipeline was checked); should they, the steps on it stay in layer 0
    }

    /// <summary>Orders each column by where its predecessors sit (fewer crossings), then places the nodes.</summary>
    private static void Place(List<List<Node>> columns, HashSet<(Node From, Node To)> edges, out int width, out int height)
    {
        var into = edges.ToLookup(e => e.To, e => e.From);
        foreach (var nodes in columns)
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                var from = into[nodes[i]].Select(f => f.Order).ToArray();
                nodes[i].Order = from.Length > 0 ? from.Average() : i;
            }
            nodes.Sort((x, y) => x.Order.CompareTo(y.Order));
            for (var i = 0; i < nodes.Count; i++) nodes[i].Order = i;
        }
        var tallest = columns.Max(c => c.Count);
        // An edge that skips columns arcs over the steps between (room for it above the graph), so it never hides behind them.
        var arcs = edges.Any(e => e.To.Column - e.From.Column > 1) ? NodeHeight : 0;
        height = Margin * 2 + arcs + tallest * NodeHeight + (tallest - 1) * RowGap;
        width = Margin * 2 + columns.Count * NodeWidth + (columns.Count - 1) * ColumnGap;
        foreach (var nodes in columns)
        {
            var columnHeight = nodes.Count * NodeHeight + (nodes.Count - 1) * RowGap;
            var top = arcs + (height - arcs - columnHeight) / 2;
            for (var i = 0; i < nodes.Count; i++)
            {
                nodes[i].X = Margin + nodes[i].Column * (NodeWidth + ColumnGap);
                nodes[i].Y = top + i * (NodeHeight + RowGap);
            }
        }
    }

    private static string Svg(IReadOnlyCollection<Step> steps, List<List<Node>> columns, HashSet<(Node From, Node To)> edges,
        Dictionary<(Node, Node), string> labels, int width, int height, bool runFinished)
    {
        string Shown(ExecutionStatus s) => s == ExecutionStatus.Pending && runFinished ? "not run" : Html.Status(s);
        var h = new Html();
        var counts = steps.GroupBy(s => s.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Shown(g.Key)}").ToArray();
        h.Raw("<svg class=\"dag\" xmlns=\"http://www.w3.org/2000/svg\" role=\"group\"").Attr("viewBox", $"0 0 {I(width)} {I(height)}")
            .Attr("width", I(width)).Attr("height", I(height))
            .Attr("aria-label", $"Pipeline graph of {steps.Count} steps: {string.Join(", ", counts)}").Raw(">");
        h.Raw("<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">" +
            "<path d=\"M0,0 L8,4 L0,8 z\" class=\"arrowhead\"/></marker></defs>");
        foreach (var (a, b) in edges)
        {
            int x1 = a.X + NodeWidth, y1 = a.Y + NodeHeight / 2, x2 = b.X, y2 = b.Y + NodeHeight / 2, mid = (x1 + x2) / 2;
            var d = b.Column - a.Column > 1
                ? $"M{I(x1)},{I(y1)} C{I(x1 + ColumnGap)},{I(Margin)} {I(x2 - ColumnGap)},{I(Margin)} {I(x2)},{I(y2)}"
                : $"M{I(x1)},{I(y1)} C{I(mid)},{I(y1)} {I(mid)},{I(y2)} {I(x2)},{I(y2)}";
            h.Raw("<path class=\"edge\" marker-end=\"url(#arrow)\"").Attr("d", d).Raw("><title>").T(labels[(a, b)]).Raw("</title></path>");
        }
        foreach (var n in columns.SelectMany(c => c))
        {
            if (n.Href is not null) h.Raw("<a").Attr("href", n.Href).Raw(">");
            h.Raw("<g").Attr("class", "node status-" + Html.Status(n.Status)).Attr("data-step", n.Aggregated ? null : n.Label)
                .Attr("data-status", Html.Status(n.Status)).Attr("data-count", n.Aggregated ? I(n.Count) : null).Raw(">");
            h.Raw("<title>").T(n.Aggregated ? $"{n.Label} {Shown(n.Status)}" : $"{n.Label}: {Shown(n.Status)}").Raw("</title>");
            h.Raw("<rect rx=\"6\" ry=\"6\"").Attr("x", I(n.X)).Attr("y", I(n.Y)).Attr("width", I(NodeWidth)).Attr("height", I(NodeHeight)).Raw("/>");
            var text = !n.Aggregated && n.Label.Length > MaxLabel ? n.Label[..(MaxLabel - 1)] + "…" : n.Label;
            if (n.Aggregated) text += " " + Shown(n.Status);
            h.Raw("<text").Attr("x", I(n.X + NodeWidth / 2)).Attr("y", I(n.Y + NodeHeight / 2 + 5)).Raw(">").T(text).Raw("</text></g>");
            if (n.Href is not null) h.Raw("</a>");
        }
        h.Raw("</svg>");
        return h.ToString();
    }

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);
}
