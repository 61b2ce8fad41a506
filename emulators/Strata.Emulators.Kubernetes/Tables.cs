using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Emulators.Kubernetes;

/// <summary>The server-side printing kubectl asks for (<c>Accept: ...;as=Table;g=meta.k8s.io;v=v1</c>), with the columns a real API server prints.</summary>
internal static class Tables
{
    public static JsonObject ToTable(ResourceType type, JsonObject obj)
    {
        var items = obj["items"] is JsonArray list ? list.Select(i => (JsonObject)i!).ToList() : [obj];
        var columns = type.Name switch
        {
            "jobs" => new[] { ("Name", "string", "name"), ("Status", "string", ""), ("Completions", "string", ""), ("Duration", "string", ""), ("Age", "string", "") },
            "pods" => [("Name", "string", "name"), ("Ready", "string", ""), ("Status", "string", ""), ("Restarts", "string", ""), ("Age", "string", "")],
            "secrets" => [("Name", "string", "name"), ("Type", "string", ""), ("Data", "string", ""), ("Age", "string", "")],
            _ => [("Name", "string", "name"), ("Status", "string", ""), ("Age", "string", "")],
        };
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray((string?)item["metadata"]?["name"]);
            foreach (var cell in Cells(type, item)) cells.Add(cell);
            cells.Add(Age((string?)item["metadata"]?["creationTimestamp"]));
            rows.Add(new JsonObject
            {
                ["cells"] = cells,
                ["object"] = new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = item["metadata"]!.DeepClone(),
                },
            });
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = (string?)obj["metadata"]?["resourceVersion"] ?? "" },
            ["columnDefinitions"] = new JsonArray(columns.Select(c => (JsonNode?)new JsonObject
            {
                ["name"] = c.Item1,
                ["type"] = c.Item2,
                ["format"] = c.Item3,
                ["description"] = c.Item1,
                ["priority"] = 0,
            }).ToArray()),
            ["rows"] = rows,
        };
    }

    private static IEnumerable<JsonNode?> Cells(ResourceType type, JsonObject o)
    {
        switch (type.Name)
        {
            case "jobs":
                var conditions = o["status"]?["conditions"] as JsonArray ?? [];
                bool Has(string t) => conditions.Any(c => (string?)c?["type"] == t && (string?)c?["status"] == "True");
                var status = o["metadata"]?["deletionTimestamp"] is not null ? "Terminating"
                    : Has("Complete") ? "Complete" : Has("Failed") ? "Failed" : Has("Suspended") ? "Suspended" : "Running";
                yield return status;
                yield return $"{(int?)o["status"]?["succeeded"] ?? 0}/{(int?)o["spec"]?["completions"] ?? 1}";
                var start = (string?)o["status"]?["startTime"];
                var end = (string?)o["status"]?["completionTime"];
                yield return start is null ? "" : Duration(Parse(start), end is null ? DateTime.UtcNow : Parse(end));
                break;
            case "pods":
                var statuses = o["status"]?["containerStatuses"] as JsonArray ?? [];
                var total = (o["spec"]?["containers"] as JsonArray)?.Count ?? 0;
                yield return $"{statuses.Count(s => (bool?)s?["ready"] == true)}/{total}";
                yield return PodStatus(o);
                yield return statuses.Sum(s => (int?)s?["restartCount"] ?? 0).ToString(CultureInfo.InvariantCulture);
                break;
            case "secrets":
                yield return (string?)o["type"] ?? "Opaque";
                yield return ((o["data"] as JsonObject)?.Count ?? 0).ToString(CultureInfo.InvariantCulture);
                break;
            default:
                yield return (string?)o["status"]?["phase"] ?? "Active";
                break;
        }
    }

    /// <summary>The STATUS column kubectl shows for a pod: a waiting or terminated reason, else the phase.</summary>
    public static string PodStatus(JsonObject pod)
    {
        if (pod["metadata"]?["deletionTimestamp"] is not null) return "Terminating";
        var reason = (string?)pod["status"]?["phase"] ?? "Pending";
        foreach (var s in pod["status"]?["containerStatuses"] as JsonArray ?? [])
        {
            if ((string?)s?["state"]?["waiting"]?["reason"] is { Length: > 0 } waiting) reason = waiting;
            else if (s?["state"]?["terminated"] is JsonObject t)
                reason = (string?)t["reason"] ?? ((int?)t["exitCode"] == 0 ? "Completed" : "Error");
        }
        return reason;
    }

    private static DateTime Parse(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static string Age(string? created) => created is null ? "<unknown>" : Duration(Parse(created), DateTime.UtcNow);

    private static string Duration(DateTime from, DateTime to)
    {
        var d = to - from;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        if (d.TotalSeconds < 120) return $"{(int)d.TotalSeconds}s";
        if (d.TotalMinutes < 10) return $"{(int)d.TotalMinutes}m{d.Seconds}s";
        if (d.TotalHours < 3) return $"{(int)d.TotalMinutes}m";
        if (d.TotalHours < 48) return $"{(int)d.TotalHours}h";
        return $"{(int)d.TotalDays}d";
    }
}
