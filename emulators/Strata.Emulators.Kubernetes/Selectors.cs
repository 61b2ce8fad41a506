using System.Text.Json.Nodes;

namespace Strata.Emulators.Kubernetes;

/// <summary>Label selectors (<c>a=b,c!=d,e,!f,g in (h,i),j notin (k)</c>) and the field selectors the API server supports here.</summary>
internal sealed class Selector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _tests = [];

    public static Selector Parse(string? text, out string? error)
    {
        error = null;
        var selector = new Selector();
        if (string.IsNullOrWhiteSpace(text)) return selector;
        foreach (var raw in SplitTop(text))
        {
            var term = raw.Trim();
            if (term.Length == 0) continue;
            var inAt = IndexOfWord(term, " in ");
            var notinAt = IndexOfWord(term, " notin ");
            if (notinAt > 0 || inAt > 0)
            {
                var negate = notinAt > 0;
                var at = negate ? notinAt : inAt;
                var key = term[..at].Trim();
                var set = term[(at + (negate ? 7 : 4))..].Trim();
                if (!set.StartsWith('(') || !set.EndsWith(')')) { error = $"unable to parse requirement: {term}"; return selector; }
                var values = set[1..^1].Split(',').Select(v => v.Trim()).ToHashSet(StringComparer.Ordinal);
                selector._tests.Add(l => l.TryGetValue(key, out var v) ? values.Contains(v) != negate : negate);
            }
            else if (term.Contains("!=", StringComparison.Ordinal))
            {
                var parts = term.Split("!=", 2);
                var (key, value) = (parts[0].Trim(), parts[1].Trim());
                selector._tests.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (term.Contains('='))
            {
                var parts = term.Replace("==", "=", StringComparison.Ordinal).Split('=', 2);
                var (key, value) = (parts[0].Trim(), parts[1].Trim());
                selector._tests.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (term.StartsWith('!'))
            {
                var key = term[1..].Trim();
                selector._tests.Add(l => !l.ContainsKey(key));
            }
            else
            {
                selector._tests.Add(l => l.ContainsKey(term));
            }
        }
        return selector;
    }

    public bool Matches(IReadOnlyDictionary<string, string> values) => _tests.All(t => t(values));

    public static Dictionary<string, string> Labels(JsonObject obj) =>
        obj["metadata"]?["labels"] is JsonObject labels
            ? labels.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The fields a field selector may name, for one object.</summary>
    public static Dictionary<string, string> Fields(JsonObject obj)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["metadata.name"] = (string?)obj["metadata"]?["name"] ?? "",
            ["metadata.namespace"] = (string?)obj["metadata"]?["namespace"] ?? "",
        };
        if ((string?)obj["kind"] == "Pod")
        {
            fields["status.phase"] = (string?)obj["status"]?["phase"] ?? "";
            fields["spec.nodeName"] = (string?)obj["spec"]?["nodeName"] ?? "";
            fields["spec.restartPolicy"] = (string?)obj["spec"]?["restartPolicy"] ?? "";
        }
        if ((string?)obj["kind"] == "Secret") fields["type"] = (string?)obj["type"] ?? "";
        if ((string?)obj["kind"] == "Job") fields["status.successful"] = ((int?)obj["status"]?["succeeded"] ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return fields;
    }

    private static int IndexOfWord(string term, string word) => term.IndexOf(word, StringComparison.Ordinal);

    private static IEnumerable<string> SplitTop(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
