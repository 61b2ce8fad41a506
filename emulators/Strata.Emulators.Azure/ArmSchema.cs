using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Bicep.Types.Az;
using Azure.Bicep.Types.Concrete;
using Azure.Bicep.Types.Index;

namespace Strata.Emulators.Azure;

/// <summary>
/// Azure's own type definitions of ARM resources (the NuGet package Azure.Bicep.Types.Az, generated from the REST specs), used to
/// check a PUT body at the request's api-version: required and read-only properties, unknown properties, types, enums,
/// string patterns and lengths, and discriminated unions (<c>jobType</c> → CommandJob, ...).
/// </summary>
internal sealed class ArmSchema
{
    /// <summary>Top-level members ARM takes in a body and ignores (the resource's identity comes from the URL).</summary>
    private static readonly HashSet<string> Envelope = new(StringComparer.OrdinalIgnoreCase) { "id", "name", "type", "apiVersion" };

    private readonly AzTypeLoader _loader = new();
    private readonly TypeIndex _index;
    private readonly Dictionary<string, ResourceType> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly bool _strictEnums;

    public ArmSchema(bool strictEnums)
    {
        _index = _loader.LoadTypeIndex();
        _strictEnums = strictEnums;
    }

    /// <summary>The api-versions Azure defines for a resource type (e.g. <c>Microsoft.MachineLearningServices/workspaces/jobs</c>).</summary>
    public IReadOnlyList<string> ApiVersions(string resourceType) => _index.Resources.Keys
        .Where(k => k.StartsWith(resourceType + "@", StringComparison.OrdinalIgnoreCase))
        .Select(k => k[(k.IndexOf('@', StringComparison.Ordinal) + 1)..]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The problems of a PUT body for the resource type at the api-version (empty: valid).</summary>
    /// <exception cref="AzureApiException">The api-version is not one Azure defines for the type.</exception>
    public List<(string Path, string Code, string Message)> Check(string resourceType, string apiVersion, JsonNode? body)
    {
        var key = $"{resourceType}@{apiVersion}";
        ResourceType type;
        lock (_cache)
        {
            if (!_cache.TryGetValue(key, out type!))
            {
                var reference = _index.Resources.FirstOrDefault(r => r.Key.Equals(key, StringComparison.OrdinalIgnoreCase)).Value
                    ?? throw new AzureApiException(400, "NoRegisteredProviderFound", $"No registered resource provider found for location and API version "
                        + $"'{apiVersion}' and resource type '{resourceType}'. The supported api-versions are "
                        + $"'{string.Join(", ", ApiVersions(resourceType))}'.");
                _cache[key] = type = _loader.LoadResourceType(reference);
            }
        }
        var problems = new List<(string, string, string)>();
        if (body is not JsonObject obj)
        {
            problems.Add(("", "InvalidRequestContent", "The request content must be a JSON object."));
            return problems;
        }
        var root = (ObjectType)type.Body.Type;
        var trimmed = new JsonObject();
        foreach (var (name, value) in obj)
            if (!Envelope.Contains(name)) trimmed[name] = value?.DeepClone();
        var properties = root.Properties.Where(p => !Envelope.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        CheckObject(properties, null, trimmed, "", problems);
        return problems;
    }

    private void Check(TypeBase type, JsonNode? value, string path, List<(string, string, string)> problems)
    {
        switch (type)
        {
            case AnyType:
                return;
            case ObjectType o:
                if (value is not JsonObject obj) { problems.Add((path, "InvalidType", $"'{path}' must be an object.")); return; }
                CheckObject(o.Properties, o.AdditionalProperties?.Type, obj, path, problems);
                return;
            case DiscriminatedObjectType d:
                if (value is not JsonObject dobj) { problems.Add((path, "InvalidType", $"'{path}' must be an object.")); return; }
                var tag = Property(dobj, d.Discriminator);
                if (tag is not { } t || t.Value is not JsonValue tv || !tv.TryGetValue<string>(out var kind))
                {
                    problems.Add((Join(path, d.Discriminator), "RequiredPropertyMissing",
                        $"The required property '{Join(path, d.Discriminator)}' is missing: one of {string.Join(", ", d.Elements.Keys)}."));
                    return;
                }
                var element = d.Elements.FirstOrDefault(e => e.Key.Equals(kind, StringComparison.OrdinalIgnoreCase));
                if (element.Value is null)
                {
                    problems.Add((Join(path, t.Key), "InvalidEnumValue",
                        $"'{Join(path, t.Key)}' is '{kind}', which is not one of {string.Join(", ", d.Elements.Keys)}."));
                    return;
                }
                var merged = new Dictionary<string, ObjectTypeProperty>(d.BaseProperties, StringComparer.Ordinal);
                var elementType = (ObjectType)element.Value.Type;
                foreach (var (n, p) in elementType.Properties) merged[n] = p;
                CheckObject(merged, elementType.AdditionalProperties?.Type, dobj, path, problems);
                return;
            case ArrayType a:
                if (value is not JsonArray array) { problems.Add((path, "InvalidType", $"'{path}' must be an array.")); return; }
                if (a.MinLength is { } amin && array.Count < amin) problems.Add((path, "InvalidLength", $"'{path}' needs at least {amin} items."));
                if (a.MaxLength is { } amax && array.Count > amax) problems.Add((path, "InvalidLength", $"'{path}' takes at most {amax} items."));
                for (var i = 0; i < array.Count; i++) Check(a.ItemType.Type, array[i], $"{path}[{i}]", problems);
                return;
            case StringType s:
                if (!IsString(value, out var text)) { problems.Add((path, "InvalidType", $"'{path}' must be a string.")); return; }
                if (s.MinLength is { } smin && text.Length < smin)
                    problems.Add((path, "InvalidLength", $"'{path}' must be at least {smin} characters long."));
                if (s.MaxLength is { } smax && text.Length > smax)
                    problems.Add((path, "InvalidLength", $"'{path}' must be at most {smax} characters long."));
                if (s.Pattern is { Length: > 0 } pattern && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
                    problems.Add((path, "PatternMismatch", $"'{path}' ('{text}') does not match the pattern '{pattern}'."));
                return;
            case StringLiteralType l:
                if (!IsString(value, out var literal) || !literal.Equals(l.Value, StringComparison.OrdinalIgnoreCase))
                    problems.Add((path, "InvalidEnumValue", $"'{path}' must be '{l.Value}'."));
                return;
            case IntegerType i:
                if (value is not JsonValue iv || !iv.TryGetValue<long>(out var number))
                {
                    if (value is JsonValue dv && dv.TryGetValue<double>(out var d2) && d2 == Math.Floor(d2)) number = (long)d2;
                    else { problems.Add((path, "InvalidType", $"'{path}' must be an integer.")); return; }
                }
                if (i.MinValue is { } imin && number < imin) problems.Add((path, "OutOfRange", $"'{path}' must be at least {imin}."));
                if (i.MaxValue is { } imax && number > imax) problems.Add((path, "OutOfRange", $"'{path}' must be at most {imax}."));
                return;
            case BooleanType:
                if (value is not JsonValue bv || !bv.TryGetValue<bool>(out _)) problems.Add((path, "InvalidType", $"'{path}' must be true or false."));
                return;
            case NullType:
                if (value is not null) problems.Add((path, "InvalidType", $"'{path}' must be null."));
                return;
            case UnionType u:
                CheckUnion(u, value, path, problems);
                return;
            default:
                return;
        }
    }

    private void CheckUnion(UnionType union, JsonNode? value, string path, List<(string, string, string)> problems)
    {
        var members = union.Elements.Select(e => e.Type).ToArray();
        var literals = members.OfType<StringLiteralType>().Select(l => l.Value).ToArray();
        if (literals.Length > 0 && members.All(m => m is StringLiteralType or StringType))
        {
            // An enum: closed, or extensible (modelAsString) when it also admits any string.
            if (!IsString(value, out var text)) { problems.Add((path, "InvalidType", $"'{path}' must be a string.")); return; }
            var extensible = members.Any(m => m is StringType);
            if (literals.Any(l => l.Equals(text, StringComparison.OrdinalIgnoreCase)) || extensible && !_strictEnums) return;
            problems.Add((path, "InvalidEnumValue", $"'{path}' is '{text}', which is not one of {string.Join(", ", literals)}."));
            return;
        }
        foreach (var member in members)
        {
            var attempt = new List<(string, string, string)>();
            Check(member, value, path, attempt);
            if (attempt.Count == 0) return;
        }
        problems.Add((path, "InvalidType", $"'{path}' matches none of the types it may have."));
    }

    private void CheckObject(IReadOnlyDictionary<string, ObjectTypeProperty> properties, TypeBase? additional, JsonObject obj, string path,
        List<(string, string, string)> problems)
    {
        foreach (var (name, value) in obj)
        {
            var child = Join(path, name);
            var declared = properties.TryGetValue(name, out var p) ? p
                : properties.FirstOrDefault(x => x.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
            if (declared is null)
            {
                if (additional is not null) Check(additional, value, child, problems);
                else problems.Add((child, "UnknownProperty", $"Could not find member '{name}' on object of type '{TypeName(path)}'. Path '{child}'."));
                continue;
            }
            if (declared.Flags.HasFlag(ObjectTypePropertyFlags.ReadOnly))
            {
                problems.Add((child, "ReadOnlyProperty", $"'{child}' is read-only and cannot be set in a request."));
                continue;
            }
            if (value is null && !declared.Flags.HasFlag(ObjectTypePropertyFlags.Required)) continue;
            Check(declared.Type.Type, value, child, problems);
        }
        foreach (var (name, declared) in properties)
        {
            if (!declared.Flags.HasFlag(ObjectTypePropertyFlags.Required) || declared.Flags.HasFlag(ObjectTypePropertyFlags.ReadOnly)) continue;
            if (Property(obj, name) is not { Value: not null })
                problems.Add((Join(path, name), "RequiredPropertyMissing", $"The required property '{Join(path, name)}' is missing from the request."));
        }
    }

    private static KeyValuePair<string, JsonNode?>? Property(JsonObject obj, string name)
    {
        foreach (var pair in obj)
            if (pair.Key.Equals(name, StringComparison.OrdinalIgnoreCase)) return pair;
        return null;
    }

    private static bool IsString(JsonNode? value, out string text)
    {
        text = "";
        return value is JsonValue v && v.TryGetValue(out text!);
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string TypeName(string path) => path.Length == 0 ? "resource" : path;
}
