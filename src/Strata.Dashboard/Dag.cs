using System.Globalization;

namespace Strata.Dashboard;

/// <summary>
/// A run's graph as server-drawn SVG: a step is a node coloured by its status, an artifact one step read from another is an edge.
/// Steps are laid out in layers (each one column right of the furthest step it reads from); a layer of more than
/// <see cref="MaxNodesPerLayer"/> steps is drawn as one node per status with its count, so a 10,000-step fan-out stays one screen.
/// </summary>
internal static class Dag
{
    public const int MaxNodesPerLayer = 24;
    private const int NodeWidth = 168, NodeHeight = 36, ColumnGap = 56, RowGap = 14, Margin = 12, MaxLabel = 20;

    private sealed class Node(string key, string label, ExecutionStatus status, string? href, int count)
    {
        public string Key { get; } = key;
        public string Label { get; } = label;
        public ExecutionStatus Status { get; } = status;
        public string? Href { get; } = href;
        public int Count { get; } = count;

        /// <summary>Whether the node stands for several steps of a layer (it links nowhere).</summary>
        public bool Aggregated => Href is null;
        public int Layer { get; set; }
        public double Order { get; set; }
        public int X { get; set; }
        public int Y { get; set; }
    }

    /// <param name="steps">Each step's latest attempt.</param>
    /// <param name="inputs">What the run's step runs read.</param>
    /// <param name="outputs">What the run's step runs produced or reused.</param>
    public static string Render(IReadOnlyList<StepRunRecord> steps, IReadOnlyList<StepArtifactLink> inputs, IReadOnlyList<StepArtifactLink> outputs)
    {
        if (steps.Count == 0) return "<p class=\"muted\">No steps recorded yet.</p>";
        var byId = new Dictionary<string, StepRunRecord>(StringComparer.Ordinal);
        foreach (var s in steps) byId[s.Id] = s;
        var nameOfRun = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in steps) nameOfRun[s.Id] = s.Name;
        // Which step of this run holds each artifact: the producer, or the cached step that reused it.
        var holder = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in outputs)
            if (nameOfRun.TryGetValue(o.StepRunId, out var name)) holder.TryAdd(o.Artifact.Id, name);
        var edges = new HashSet<(string From, string To)>();
        var edgeLabels = new Dictionary<(string, string), string>();
        foreach (var i in inputs)
        {
            if (!nameOfRun.TryGetValue(i.StepRunId, out var to) || !holder.TryGetValue(i.Artifact.Id, out var from) || from == to) continue;
            if (edges.Add((from, to))) edgeLabels[(from, to)] = i.Artifact.OutputName + " → " + i.Name;
        }
        var latest = steps.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderByDescending(s => s.Attempt).First(),
            StringComparer.Ordinal);

        // Layers: longest path from a step that reads nothing from this run (edges never form a cycle: the pipeline was checked).
        var preds = latest.Keys.ToDictionary(k => k, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var (from, to) in edges)
            if (preds.ContainsKey(to) && preds.ContainsKey(from)) preds[to].Add(from);
        var layer = new Dictionary<string, int>(StringComparer.Ordinal);
        int LayerOf(string name)
        {
            if (layer.TryGetValue(name, out var known)) return known;
            layer[name] = 0; // a guard, should the records ever hold a cycle
            var l = 0;
            foreach (var p in preds[name]) l = Math.Max(l, LayerOf(p) + 1);
            return layer[name] = l;
        }
        foreach (var name in latest.Keys) LayerOf(name);

        // Nodes per layer, aggregated by status where a layer is too wide to draw step by step.
        var nodeOf = new Dictionary<string, Node>(StringComparer.Ordinal);
        var layers = new List<List<Node>>();
        foreach (var group in latest.Values.GroupBy(s => layer[s.Name]).OrderBy(g => g.Key))
        {
            var nodes = new List<Node>();
            if (group.Count() > MaxNodesPerLayer)
            {
                foreach (var byStatus in group.GroupBy(s => s.Status).OrderBy(g => g.Key))
                {
                    var label = byStatus.Count() == 1 ? "1 step" : $"{byStatus.Count()} steps";
                    var n = new Node($"layer{group.Key}:{Html.Status(byStatus.Key)}", label, byStatus.Key, null, byStatus.Count()) { Layer = group.Key };
                    nodes.Add(n);
                    foreach (var s in byStatus) nodeOf[s.Name] = n;
                }
            }
            else
            {
                foreach (var s in group.OrderBy(s => s.StartedAt ?? s.FinishedAt).ThenBy(s => s.Name, StringComparer.Ordinal))
                {
                    var n = new Node(s.Name, s.Name, s.Status, "/steps/" + Html.Seg(s.Id), 1) { Layer = group.Key };
                    nodes.Add(n);
                    nodeOf[s.Name] = n;
                }
            }
            while (layers.Count <= group.Key) layers.Add([]);
            layers[group.Key] = nodes;
        }
        var nodeEdges = new HashSet<(Node From, Node To)>();
        var nodeEdgeLabel = new Dictionary<(Node, Node), string>();
        foreach (var (from, to) in edges)
        {
            if (!nodeOf.TryGetValue(from, out var a) || !nodeOf.TryGetValue(to, out var b) || a == b) continue;
            if (nodeEdges.Add((a, b))) nodeEdgeLabel[(a, b)] = edgeLabels[(from, to)];
        }

        // Order each layer by where its predecessors sit (fewer crossings), then place.
        for (var l = 0; l < layers.Count; l++)
        {
            var nodes = layers[l];
            for (var i = 0; i < nodes.Count; i++)
            {
                var from = nodeEdges.Where(e => e.To == nodes[i]).Select(e => e.From.Order).ToArray();
                nodes[i].Order = from.Length > 0 ? from.Average() : i;
            }
            nodes.Sort((x, y) => x.Order.CompareTo(y.Order));
            for (var i = 0; i < nodes.Count; i++) nodes[i].Order = i;
        }
        var tallest = layers.Max(l => l.Count);
        // An edge that skips layers arcs over the steps between (room for it above the graph), so it never hides behind them.
        var arcs = nodeEdges.Any(e => e.To.Layer - e.From.Layer > 1) ? NodeHeight : 0;
        var height = Margin * 2 + arcs + tallest * NodeHeight + (tallest - 1) * RowGap;
        var width = Margin * 2 + layers.Count * NodeWidth + (layers.Count - 1) * ColumnGap;
        foreach (var nodes in layers)
        {
            var columnHeight = nodes.Count * NodeHeight + (nodes.Count - 1) * RowGap;
            var top = arcs + (height - arcs - columnHeight) / 2;
            for (var i = 0; i < nodes.Count; i++)
            {
                nodes[i].X = Margin + nodes[i].Layer * (NodeWidth + ColumnGap);
                nodes[i].Y = top + i * (NodeHeight + RowGap);
            }
        }

        var h = new Html();
        var counts = latest.Values.GroupBy(s => s.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Html.Status(g.Key)}");
        h.Raw("<svg class=\"dag\" xmlns=\"http://www.w3.org/2000/svg\" role=\"group\"").Attr("viewBox", $"0 0 {I(width)} {I(height)}")
            .Attr("width", I(width)).Attr("height", I(height))
            .Attr("aria-label", $"Pipeline graph of {latest.Count} steps: {string.Join(", ", counts)}").Raw(">");
        h.Raw("<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">" +
            "<path d=\"M0,0 L8,4 L0,8 z\" class=\"arrowhead\"/></marker></defs>");
        foreach (var (a, b) in nodeEdges)
        {
            int x1 = a.X + NodeWidth, y1 = a.Y + NodeHeight / 2, x2 = b.X, y2 = b.Y + NodeHeight / 2, mid = (x1 + x2) / 2;
            var d = b.Layer - a.Layer > 1
                ? $"M{I(x1)},{I(y1)} C{I(x1 + ColumnGap)},{I(Margin)} {I(x2 - ColumnGap)},{I(Margin)} {I(x2)},{I(y2)}"
                : $"M{I(x1)},{I(y1)} C{I(mid)},{I(y1)} {I(mid)},{I(y2)} {I(x2)},{I(y2)}";
            h.Raw("<path class=\"edge\" marker-end=\"url(#arrow)\"").Attr("d", d)
                .Raw("><title>").T(nodeEdgeLabel[(a, b)]).Raw("</title></path>");
        }
        foreach (var n in layers.SelectMany(l => l))
        {
            if (n.Href is not null) h.Raw("<a").Attr("href", n.Href).Raw(">");
            h.Raw("<g").Attr("class", "node status-" + Html.Status(n.Status)).Attr("data-step", n.Aggregated ? null : n.Label)
                .Attr("data-status", Html.Status(n.Status)).Raw(">");
            h.Raw("<title>").T(n.Aggregated ? $"{n.Label} {Html.Status(n.Status)}" : $"{n.Label}: {Html.Status(n.Status)}").Raw("</title>");
            h.Raw("<rect rx=\"6\" ry=\"6\"").Attr("x", I(n.X)).Attr("y", I(n.Y)).Attr("width", I(NodeWidth)).Attr("height", I(NodeHeight)).Raw("/>");
            var text = !n.Aggregated && n.Label.Length > MaxLabel ? n.Label[..(MaxLabel - 1)] + "…" : n.Label;
            if (n.Aggregated) text += " " + Html.Status(n.Status);
            h.Raw("<text").Attr("x", I(n.X + NodeWidth / 2)).Attr("y", I(n.Y + NodeHeight / 2 + 5)).Raw(">").T(text).Raw("</text></g>");
            if (n.Href is not null) h.Raw("</a>");
        }
        h.Raw("</svg>");
        return h.ToString();
    }

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);
}
