using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Emulators.Gcp;

/// <summary>
/// Google's API description as protobuf.js writes it (<c>build/protos/protos.json</c> of <c>@google-cloud/aiplatform</c>):
/// messages with their fields, types and field behaviors (REQUIRED, OUTPUT_ONLY, IMMUTABLE), enums, and the services' HTTP
/// routes. Request bodies are checked against it in proto3 JSON form and answered in it.
/// </summary>
internal sealed partial class ProtoSchema
{
    private const string Behavior = "(google.api.field_behavior)";
    private static readonly HashSet<string> Int64Types = new(StringComparer.Ordinal) { "int64", "uint64", "sint64", "fixed64", "sfixed64" };
    private static readonly HashSet<string> Int32Types = new(StringComparer.Ordinal) { "int32", "uint32", "sint32", "fixed32", "sfixed32" };

    private readonly JsonObject _root;

    private ProtoSchema(JsonObject root) => _root = root;

    /// <summary>The subset of aiplatform's protos.json shipped with the emulator (CustomJob and what it reaches).</summary>
    public static string BundledPath => Path.Combine(AppContext.BaseDirectory, "protos", "aiplatform-v1-customjob.json");

    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static ProtoSchema Load(string? path = null) =>
        new((JsonObject)JsonNode.Parse(File.ReadAllText(path ?? BundledPath))!);

    /// <summary>A message, enum or service by its full name (<c>google.cloud.aiplatform.v1.CustomJob</c>); null when absent.</summary>
    public JsonObject? Find(string fullName)
    {
        JsonNode? node = _root;
        foreach (var part in fullName.Split('.'))
            node = node?["nested"]?[part];
        return node as JsonObject;
    }

    /// <summary>protobuf.js' lookup of a type name used in <paramref name="scope"/>: relative to the scope, then to each enclosing one.</summary>
    public string Resolve(string scope, string type)
    {
        if (type.StartsWith('.')) return type[1..];
        var parts = scope.Split('.').ToList();
        while (true)
        {
            var candidate = parts.Count == 0 ? type : $"{string.Join('.', parts)}.{type}";
            if (Find(candidate) is not null) return candidate;
            if (parts.Count == 0) throw new InvalidOperationException($"protos: cannot resolve {type} in {scope}");
            parts.RemoveAt(parts.Count - 1);
        }
    }

    /// <summary>One HTTP route of a service method, from its <c>google.api.http</c> option.</summary>
    public sealed record Route(string Method, string Verb, Regex Pattern, string? Body, string RequestType);

    /// <summary>The HTTP routes of a service's methods (e.g. <c>CreateCustomJob</c>: POST /v1/{parent=projects/*/locations/*}/customJobs).</summary>
    public IReadOnlyList<Route> Routes(string service)
    {
        var routes = new List<Route>();
        foreach (var (name, node) in (JsonObject)Find(service)!["methods"]!)
        {
            var options = (JsonObject)node!["options"]!;
            foreach (var verb in new[] { "get", "post", "put", "patch", "delete" })
                if ((string?)options[$"(google.api.http).{verb}"] is { } template)
                    routes.Add(new Route(name, verb.ToUpperInvariant(), Template(template), (string?)options["(google.api.http).body"],
                        Resolve(service, (string)node["requestType"]!)));
        }
        return routes;
    }

    /// <summary><c>/v1/{parent=projects/*/locations/*}/customJobs</c> as a regex with a group per variable.</summary>
    private static Regex Template(string template)
    {
        var pattern = new StringBuilder("^");
        var at = 0;
        foreach (Match m in Variable().Matches(template))
        {
            pattern.Append(Regex.Escape(template[at..m.Index]));
            var inner = m.Groups[2].Success ? m.Groups[2].Value : "*";
            var segments = inner.Split('/').Select(s => s switch { "*" => "[^/:]+", "**" => ".+", _ => Regex.Escape(s) });
            pattern.Append(CultureInfo.InvariantCulture, $"(?<{m.Groups[1].Value.Replace('.', '_')}>{string.Join('/', segments)})");
            at = m.Index + m.Length;
        }
        pattern.Append(Regex.Escape(template[at..])).Append('$');
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant);
    }

    [GeneratedRegex(@"\{([a-z_.]+)(?:=([^}]+))?\}")]
    private static partial Regex Variable();

    /// <summary>
    /// Checks <paramref name="body"/> against the message <paramref name="type"/> as Google's front end does and returns it in
    /// canonical proto3 JSON (lowerCamel names, int64 as strings, enums by name). Unknown fields and wrong types are refused;
    /// OUTPUT_ONLY fields are dropped (<paramref name="ignored"/> names them), as Google ignores them in requests.
    /// </summary>
    /// <param name="body">The JSON as sent.</param>
    /// <param name="type">The message's full name.</param>
    /// <param name="path">Where the body sits in the request, in proto names (e.g. <c>custom_job</c>), for messages.</param>
    /// <param name="ignored">Gets the OUTPUT_ONLY fields that were dropped.</param>
    /// <param name="skipRequired">Fields the route fills from the URL (e.g. <c>parent</c>).</param>
    /// <exception cref="GcpApiException">400 INVALID_ARGUMENT naming each problem.</exception>
    public JsonObject Check(JsonNode? body, string type, string path, List<string> ignored, params string[] skipRequired)
    {
        var problems = new List<string>();
        var result = Message(body, type, path, problems, ignored, skipRequired) as JsonObject ?? [];
        if (problems.Count > 0)
            throw new GcpApiException(400, "INVALID_ARGUMENT", problems.Count == 1
                ? problems[0]
                : "List of found errors:\t" + string.Join("\t", problems.Select((p, i) => $"{i + 1}.{p}")));
        return result;
    }

    private JsonNode? Message(JsonNode? value, string type, string path, List<string> problems, List<string> ignored, string[] skipRequired)
    {
        switch (type)
        {
            case "google.protobuf.Duration":
                if (value is JsonValue d && d.TryGetValue<string>(out var duration) && DurationText().IsMatch(duration)) return duration;
                problems.Add($"Invalid value at '{path}' (type.googleapis.com/google.protobuf.Duration), Field '{path}', Illegal duration format; duration " +
                    "must end with 's'");
                return null;
            case "google.protobuf.Timestamp":
                if (value is JsonValue t && t.TryGetValue<string>(out var stamp)
                    && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _)) return stamp;
                problems.Add($"Invalid value at '{path}' (type.googleapis.com/google.protobuf.Timestamp), Field '{path}', Invalid time format");
                return null;
            case "google.protobuf.FieldMask":
                if (value is JsonValue f && f.TryGetValue<string>(out var mask)) return mask;
                problems.Add($"Invalid value at '{path}' (type.googleapis.com/google.protobuf.FieldMask), expected a comma-separated path list");
                return null;
        }
        if (value is not JsonObject obj)
        {
            problems.Add($"Invalid value at '{path}' ({type}), expected an object");
            return null;
        }
        var message = Find(type) ?? throw new InvalidOperationException($"protos: no message {type}");
        var fields = (JsonObject?)message["fields"] ?? [];
        var result = new JsonObject();
        var oneofSeen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, child) in obj)
        {
            var name = fields.ContainsKey(key) ? key : Camel(key);
            if (fields[name] is not JsonObject field)
            {
                problems.Add($"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': Cannot find field.");
                continue;
            }
            var fieldPath = path.Length == 0 ? Snake(name) : $"{path}.{Snake(name)}";
            if (Behaviors(field).Contains("OUTPUT_ONLY"))
            {
                ignored.Add(fieldPath);
                continue;
            }
            if (child is null) continue; // null is the default value in proto3 JSON
            foreach (var (oneof, members) in (JsonObject?)message["oneofs"] ?? [])
                if (((JsonArray)members!["oneof"]!).Any(m => (string?)m == name))
                {
                    if (oneofSeen.TryGetValue(oneof, out var other))
                        problems.Add($"Invalid JSON payload received. Oneof field '{oneof}' is already set at '{path}': '{Snake(other)}' and " +
                            $"'{Snake(name)}' cannot both be given.");
                    oneofSeen[oneof] = name;
                }
            result[name] = Field(child, field, type, fieldPath, problems, ignored);
        }
        foreach (var (name, field) in fields)
        {
            if (!Behaviors((JsonObject)field!).Contains("REQUIRED") || skipRequired.Contains(Snake(name))) continue;
            if (result[name] is null || IsDefault(result[name]))
                problems.Add($"Field: {(path.Length == 0 ? Snake(name) : $"{path}.{Snake(name)}")}; Message: Required field is not set.");
        }
        return result;
    }

    private JsonNode? Field(JsonNode value, JsonObject field, string scope, string path, List<string> problems, List<string> ignored)
    {
        var type = (string)field["type"]!;
        if (field["keyType"] is not null)
        {
            if (value is not JsonObject map)
            {
                problems.Add($"Invalid value at '{path}' (map), expected an object");
                return null;
            }
            var copy = new JsonObject();
            foreach (var (k, v) in map)
                copy[k] = v is null ? null : Single(v, type, scope, $"{path}[{k}]", problems, ignored);
            return copy;
        }
        if ((string?)field["rule"] == "repeated")
        {
            if (value is not JsonArray list)
            {
                problems.Add($"Invalid value at '{path}', expected a list (repeated field)");
                return null;
            }
            return new JsonArray(list.Select((v, i) => v is null ? null : Single(v, type, scope, $"{path}[{i}]", problems, ignored)).ToArray());
        }
        return Single(value, type, scope, path, problems, ignored);
    }

    private JsonNode? Single(JsonNode value, string type, string scope, string path, List<string> problems, List<string> ignored)
    {
        string Problem(string expected)
        {
            problems.Add($"Invalid value at '{path}' ({expected}), {Short(value)}");
            return "";
        }
        switch (type)
        {
            case "string":
                return value is JsonValue s && s.TryGetValue<string>(out var text) ? text : Problem("TYPE_STRING");
            case "bool":
                return value is JsonValue b && b.TryGetValue<bool>(out var flag) ? flag : Problem("TYPE_BOOL");
            case "bytes":
                return value is JsonValue by && by.TryGetValue<string>(out var base64) && IsBase64(base64) ? base64 : Problem("TYPE_BYTES");
            case "double" or "float":
                if (value is JsonValue n && (n.TryGetValue<double>(out _) || n.TryGetValue<string>(out var special) && special is "NaN" or "Infinity"
                    or "-Infinity")) return value.DeepClone();
                return Problem($"TYPE_{type.ToUpperInvariant()}");
        }
        if (Int64Types.Contains(type) || Int32Types.Contains(type))
        {
            var number = value is JsonValue v && v.TryGetValue<long>(out var l) ? l
                : value is JsonValue sv && sv.TryGetValue<string>(out var str) && long.TryParse(str, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture,
                    out var parsed) ? parsed : (long?)null;
            if (number is null || (Int32Types.Contains(type) && number is < int.MinValue or > uint.MaxValue))
                return Problem($"TYPE_{type.ToUpperInvariant()}");
            return Int64Types.Contains(type) ? number.Value.ToString(CultureInfo.InvariantCulture) : number.Value;
        }
        var full = Resolve(scope, type);
        var resolved = Find(full)!;
        if (resolved["values"] is JsonObject values)
        {
            if (value is JsonValue e && e.TryGetValue<string>(out var enumName) && values.ContainsKey(enumName)) return enumName;
            if (value is JsonValue en && en.TryGetValue<int>(out var enumNumber) && values.FirstOrDefault(p => (int)p.Value! == enumNumber) is { Key: { } k })
                return k;
            problems.Add($"Invalid value at '{path}' (type.googleapis.com/{full}), {Short(value)}");
            return null;
        }
        return Message(value, full, path, problems, ignored, []);
    }

    /// <summary>The field's behaviors: protobuf.js writes one as a string, several as a list.</summary>
    private static IReadOnlyList<string> Behaviors(JsonObject field) => field["options"]?[Behavior] switch
    {
        JsonArray a => a.Select(x => (string)x!).ToArray(),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };

    private static bool IsDefault(JsonNode? node) => node is JsonValue v
        && ((v.TryGetValue<string>(out var s) && (s.Length == 0 || s == "0")) || (v.TryGetValue<long>(out var l) && l == 0) || (v.TryGetValue<bool>(out var b) && !b));

    private static bool IsBase64(string s)
    {
        Span<byte> buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s.Replace('-', '+').Replace('_', '/'), buffer, out _) || s.Length == 0;
    }

    private static string Short(JsonNode value)
    {
        var json = value.ToJsonString();
        return json.Length <= 40 ? json : json[..37] + "...";
    }

    /// <summary><c>job_spec</c> → <c>jobSpec</c>.</summary>
    public static string Camel(string name)
    {
        var sb = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
            sb.Append(name[i] == '_' && i + 1 < name.Length ? char.ToUpperInvariant(name[++i]) : name[i]);
        return sb.ToString();
    }

    /// <summary><c>jobSpec</c> → <c>job_spec</c>.</summary>
    public static string Snake(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        foreach (var c in name)
            if (char.IsAsciiLetterUpper(c)) sb.Append('_').Append(char.ToLowerInvariant(c));
            else sb.Append(c);
        return sb.ToString();
    }

    [GeneratedRegex(@"^-?\d{1,12}(\.\d{1,9})?s$")]
    private static partial Regex DurationText();
}
