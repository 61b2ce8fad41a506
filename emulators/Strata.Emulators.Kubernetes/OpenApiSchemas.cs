using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Emulators.Kubernetes;

/// <summary>What checking an object against its schema found, in the terms a Kubernetes API server reports.</summary>
public sealed class SchemaFindings
{
    /// <summary>Fields the schema does not define (strict decoding errors, or warnings when fieldValidation=Warn).</summary>
    public List<string> UnknownFields { get; } = [];

    /// <summary>Values of the wrong JSON type (decoding errors: 400 BadRequest).</summary>
    public List<string> TypeErrors { get; } = [];

    /// <summary>Required fields that are missing (422 Invalid, FieldValueRequired).</summary>
    public List<string> MissingRequired { get; } = [];
}

/// <summary>
/// Kubernetes' own OpenAPI v3 documents (core v1 and batch/v1, embedded), served to clients as they are and used to check
/// every object the emulator is sent: unknown fields, JSON types and required fields, following $ref/allOf, maps
/// (additionalProperties), int-or-string and quantities (oneOf) and x-kubernetes-preserve-unknown-fields.
/// </summary>
public sealed class OpenApiSchemas
{
    private readonly Dictionary<string, JsonElement> _schemas = new(StringComparer.Ordinal);

    private OpenApiSchemas(Dictionary<string, byte[]> documents)
    {
        Documents = documents;
        foreach (var bytes in documents.Values)
        {
            var root = JsonDocument.Parse(bytes).RootElement;
            foreach (var schema in root.GetProperty("components").GetProperty("schemas").EnumerateObject())
                _schemas.TryAdd(schema.Name, schema.Value);
        }
    }

    /// <summary>The documents by their discovery path (<c>api/v1</c>, <c>apis/batch/v1</c>).</summary>
    public IReadOnlyDictionary<string, byte[]> Documents { get; }

    public static OpenApiSchemas LoadEmbedded()
    {
        var assembly = typeof(OpenApiSchemas).Assembly;
        return new OpenApiSchemas(new Dictionary<string, byte[]>
        {
            ["api/v1"] = Read(assembly, "openapi/api__v1_openapi.json"),
            ["apis/batch/v1"] = Read(assembly, "openapi/apis__batch__v1_openapi.json"),
        });
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded {name} is missing");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public bool HasSchema(string name) => _schemas.ContainsKey(name);

    /// <summary>Checks <paramref name="value"/> against the named schema (e.g. io.k8s.api.batch.v1.Job).</summary>
    public SchemaFindings Check(string schemaName, JsonNode? value)
    {
        var findings = new SchemaFindings();
        Walk(_schemas[schemaName], value, "", findings);
        return findings;
    }

    private JsonElement Resolve(JsonElement schema)
    {
        for (var i = 0; i < 16; i++)
        {
            if (schema.TryGetProperty("$ref", out var r))
                schema = _schemas[r.GetString()!.Split('/')[^1]];
            else if (schema.TryGetProperty("allOf", out var all) && all.GetArrayLength() == 1 && !schema.TryGetProperty("type", out _))
                schema = all[0];
            else
                break;
        }
        return schema;
    }

    private void Walk(JsonElement schema, JsonNode? value, string path, SchemaFindings findings)
    {
        schema = Resolve(schema);
        if (value is null) return; // null decodes as the zero value, as the API server's decoder does.
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var kind = value.GetValueKind();
            foreach (var option in oneOf.EnumerateArray())
                if (Fits(option.GetProperty("type").GetString(), value, kind)) return;
            findings.TypeErrors.Add($"{Display(path)}: expected {string.Join(" or ", oneOf.EnumerateArray().Select(o => o.GetProperty("type").GetString()))}, got {Describe(kind)}");
            return;
        }
        if (schema.TryGetProperty("x-kubernetes-int-or-string", out _))
        {
            var kind = value.GetValueKind();
            if (!Fits("integer", value, kind) && !Fits("string", value, kind))
                findings.TypeErrors.Add($"{Display(path)}: expected integer or string, got {Describe(kind)}");
            return;
        }
        var type = schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var valueKind = value.GetValueKind();
        if (type is null)
        {
            return; // unconstrained (e.g. RawExtension)
        }
        if (!Fits(type, value, valueKind))
        {
            findings.TypeErrors.Add($"{Display(path)}: expected {type}, got {Describe(valueKind)}");
            return;
        }
        switch (type)
        {
            case "object":
                var obj = value.AsObject();
                if (schema.TryGetProperty("x-kubernetes-preserve-unknown-fields", out _)) return;
                if (schema.TryGetProperty("properties", out var properties))
                {
                    foreach (var (name, child) in obj)
                    {
                        if (properties.TryGetProperty(name, out var childSchema))
                            Walk(childSchema, child, Join(path, name), findings);
                        else
                            findings.UnknownFields.Add(Join(path, name));
                    }
                    if (schema.TryGetProperty("required", out var required))
                        foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                            if (!obj.ContainsKey(name) || obj[name] is null)
                                findings.MissingRequired.Add(Join(path, name));
                }
                else if (schema.TryGetProperty("additionalProperties", out var additional))
                {
                    foreach (var (name, child) in obj)
                        Walk(additional, child, $"{path}[{name}]", findings);
                }
                break;
            case "array":
                if (schema.TryGetProperty("items", out var items))
                {
                    var i = 0;
                    foreach (var item in value.AsArray())
                        Walk(items, item, $"{path}[{i++}]", findings);
                }
                break;
        }
    }

    private static bool Fits(string? type, JsonNode value, JsonValueKind kind) => type switch
    {
        "object" => kind == JsonValueKind.Object,
        "array" => kind == JsonValueKind.Array,
        "string" => kind == JsonValueKind.String,
        "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
        "integer" => kind == JsonValueKind.Number && long.TryParse(value.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _),
        "number" => kind == JsonValueKind.Number,
        _ => true,
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => "number",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Display(string path) => path.Length == 0 ? "<root>" : path;
}
