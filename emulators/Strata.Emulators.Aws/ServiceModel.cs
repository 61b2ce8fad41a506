using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Strata.Emulators.Aws;

/// <summary>
/// An AWS service model as botocore ships it (<c>botocore/data/&lt;service&gt;/&lt;version&gt;/service-2.json</c>, plain or
/// gzipped): metadata, operations and shapes. The authority on what a request may contain.
/// </summary>
public sealed class ServiceModel
{
    private readonly Dictionary<string, Shape> _shapes;
    private readonly Dictionary<string, (string? Input, string? Output)> _operations;

    private ServiceModel(JsonElement root)
    {
        var metadata = root.GetProperty("metadata");
        TargetPrefix = metadata.GetProperty("targetPrefix").GetString()!;
        SigningName = metadata.TryGetProperty("signingName", out var s) ? s.GetString()! : metadata.GetProperty("endpointPrefix").GetString()!;
        ApiVersion = metadata.GetProperty("apiVersion").GetString()!;
        JsonVersion = metadata.GetProperty("jsonVersion").GetString()!;
        _operations = root.GetProperty("operations").EnumerateObject().ToDictionary(
            o => o.Name,
            o => (o.Value.TryGetProperty("input", out var i) ? i.GetProperty("shape").GetString() : null,
                  o.Value.TryGetProperty("output", out var r) ? r.GetProperty("shape").GetString() : null),
            StringComparer.Ordinal);
        _shapes = root.GetProperty("shapes").EnumerateObject().ToDictionary(p => p.Name, p => Shape.Read(p.Name, p.Value), StringComparer.Ordinal);
    }

    public string TargetPrefix { get; }
    public string SigningName { get; }
    public string ApiVersion { get; }
    public string JsonVersion { get; }

    public bool HasOperation(string name) => _operations.ContainsKey(name);

    public Shape? InputOf(string operation) => _operations[operation].Input is { } name ? _shapes[name] : null;

    public Shape? OutputOf(string operation) => _operations[operation].Output is { } name ? _shapes[name] : null;

    public Shape this[string name] => _shapes[name];

    /// <summary>Patterns in the model that .NET cannot compile (checked as absent: none is known to exist).</summary>
    public IReadOnlyList<string> UncompilablePatterns => _shapes.Values.Where(s => s.Pattern is not null && s.Regex is null).Select(s => $"{s.Name}: {s.Pattern}").ToArray();

    /// <summary>Loads <c>&lt;dataDirectory&gt;/&lt;service&gt;/&lt;apiVersion&gt;/service-2.json</c> or its <c>.json.gz</c> form.</summary>
    public static ServiceModel Load(string dataDirectory, string service, string apiVersion)
    {
        var dir = Path.Combine(dataDirectory, service, apiVersion);
        var plain = Path.Combine(dir, "service-2.json");
        var gzipped = plain + ".gz";
        using Stream stream = File.Exists(plain) ? File.OpenRead(plain)
            : File.Exists(gzipped) ? new GZipStream(File.OpenRead(gzipped), CompressionMode.Decompress)
            : throw new FileNotFoundException($"No AWS service model at {plain}(.gz): install Debian's python3-botocore (eng/install-prerequisites.sh does), or point the emulator at botocore's data directory.", plain);
        using var doc = JsonDocument.Parse(stream);
        return new ServiceModel(doc.RootElement);
    }

    /// <summary>A shape: structure, list, map, string, integer, long, float, double, boolean, timestamp or blob, with its constraints.</summary>
    public sealed class Shape
    {
        private Regex? _regex;
        private bool _regexTried;

        public required string Name { get; init; }
        public required string Type { get; init; }
        public IReadOnlyDictionary<string, string> Members { get; init; } = new Dictionary<string, string>();
        public IReadOnlySet<string> Required { get; init; } = new HashSet<string>();
        public string? Member { get; init; }
        public string? Key { get; init; }
        public string? Value { get; init; }
        public double? Min { get; init; }
        public double? Max { get; init; }
        public string? Pattern { get; init; }
        public IReadOnlyList<string>? Enum { get; init; }
        public bool IsException { get; init; }

        /// <summary>The pattern as AWS applies it: the whole value must match (Java's <c>matches</c>).</summary>
        public Regex? Regex
        {
            get
            {
                if (_regexTried || Pattern is null) return _regex;
                try
                {
                    _regex = new Regex($@"\A(?:{FromJava(Pattern)})\z", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException)
                {
                    _regex = null;
                }
                _regexTried = true;
                return _regex;
            }
        }

        /// <summary>
        /// AWS's patterns are Java regular expressions. Two Java forms .NET reads differently: a supplementary-plane
        /// range written as surrogate pairs (<c>\uD800\uDC00-\uDBFF\uDFFF</c>, which .NET sees as a reversed range of
        /// single UTF-16 units; here any surrogate), and an escaped underscore (<c>\_</c>).
        /// </summary>
        internal static string FromJava(string pattern) => pattern
            .Replace(@"\uD800\uDC00-\uDBFF\uDFFF", @"\uD800-\uDFFF", StringComparison.Ordinal)
            .Replace(@"\_", "_", StringComparison.Ordinal);

        internal static Shape Read(string name, JsonElement e) => new()
        {
            Name = name,
            Type = e.GetProperty("type").GetString()!,
            Members = e.TryGetProperty("members", out var m)
                ? m.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("shape").GetString()!, StringComparer.Ordinal)
                : new Dictionary<string, string>(),
            Required = e.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal) : new HashSet<string>(),
            Member = e.TryGetProperty("member", out var lm) ? lm.GetProperty("shape").GetString() : null,
            Key = e.TryGetProperty("key", out var k) ? k.GetProperty("shape").GetString() : null,
            Value = e.TryGetProperty("value", out var v) ? v.GetProperty("shape").GetString() : null,
            Min = e.TryGetProperty("min", out var min) ? min.GetDouble() : null,
            Max = e.TryGetProperty("max", out var max) ? max.GetDouble() : null,
            Pattern = e.TryGetProperty("pattern", out var p) ? p.GetString() : null,
            Enum = e.TryGetProperty("enum", out var en) ? en.EnumerateArray().Select(x => x.GetString()!).ToArray() : null,
            IsException = e.TryGetProperty("exception", out var ex) && ex.GetBoolean(),
        };
    }
}
