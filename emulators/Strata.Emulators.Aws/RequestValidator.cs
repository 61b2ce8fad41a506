using System.Globalization;
using System.Text.Json;

namespace Strata.Emulators.Aws;

/// <summary>
/// Checks a JSON document against a shape of a <see cref="ServiceModel"/> the way AWS's request validation reports it:
/// "Value 'x' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ...".
/// Type mismatches (a string where a number belongs) are serialization errors, as AWS reports them.
/// </summary>
public sealed class RequestValidator(ServiceModel model, bool rejectUnknownMembers = true)
{
    /// <summary>The problems found: constraint violations (ValidationException) and type errors (SerializationException).</summary>
    public sealed record Result(IReadOnlyList<string> ConstraintErrors, IReadOnlyList<string> TypeErrors)
    {
        public bool IsValid => ConstraintErrors.Count == 0 && TypeErrors.Count == 0;

        /// <summary>AWS's message: "2 validation errors detected: A; B".</summary>
        public string ValidationMessage =>
            $"{ConstraintErrors.Count} validation error{(ConstraintErrors.Count == 1 ? "" : "s")} detected: {string.Join("; ", ConstraintErrors)}";
    }

    public Result Validate(ServiceModel.Shape shape, JsonElement value)
    {
        var constraints = new List<string>();
        var types = new List<string>();
        Check(shape, value, "", constraints, types);
        return new Result(constraints, types);
    }

    private void Check(ServiceModel.Shape shape, JsonElement value, string path, List<string> errors, List<string> types)
    {
        switch (shape.Type)
        {
            case "structure":
                if (value.ValueKind != JsonValueKind.Object) { types.Add($"Expected an object at '{Where(path)}' ({shape.Name}), got {value.ValueKind}."); return; }
                var present = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in value.EnumerateObject())
                {
                    if (!shape.Members.TryGetValue(p.Name, out var memberShape))
                    {
                        if (rejectUnknownMembers)
                            errors.Add($"Value {Show(p.Value)} at '{Join(path, p.Name)}' failed to satisfy constraint: Member must be one of the members of {shape.Name}: [{string.Join(", ", shape.Members.Keys)}]");
                        continue;
                    }
                    if (p.Value.ValueKind == JsonValueKind.Null) continue; // null is absent
                    present.Add(p.Name);
                    Check(model[memberShape], p.Value, Join(path, p.Name), errors, types);
                }
                foreach (var required in shape.Required.Where(r => !present.Contains(r)))
                    errors.Add($"Value null at '{Join(path, required)}' failed to satisfy constraint: Member must not be null");
                return;

            case "list":
                if (value.ValueKind != JsonValueKind.Array) { types.Add($"Expected a list at '{Where(path)}' ({shape.Name}), got {value.ValueKind}."); return; }
                var count = value.GetArrayLength();
                CheckLength(shape, count, value, path, errors);
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    index++;
                    if (item.ValueKind == JsonValueKind.Null) { errors.Add($"Value null at '{path}.{index}.member' failed to satisfy constraint: Member must not be null"); continue; }
                    Check(model[shape.Member!], item, $"{path}.{index}.member", errors, types);
                }
                return;

            case "map":
                if (value.ValueKind != JsonValueKind.Object) { types.Add($"Expected a map at '{Where(path)}' ({shape.Name}), got {value.ValueKind}."); return; }
                CheckLength(shape, value.EnumerateObject().Count(), value, path, errors);
                foreach (var p in value.EnumerateObject())
                {
                    using var keyDoc = JsonDocument.Parse(JsonSerializer.Serialize(p.Name));
                    Check(model[shape.Key!], keyDoc.RootElement, $"{path}.{p.Name}.key", errors, types);
                    if (p.Value.ValueKind == JsonValueKind.Null) { errors.Add($"Value null at '{path}.{p.Name}.value' failed to satisfy constraint: Member must not be null"); continue; }
                    Check(model[shape.Value!], p.Value, $"{path}.{p.Name}.value", errors, types);
                }
                return;

            case "string":
                if (value.ValueKind != JsonValueKind.String) { types.Add($"Expected a string at '{Where(path)}' ({shape.Name}), got {value.ValueKind}."); return; }
                var s = value.GetString()!;
                CheckLength(shape, s.Length, value, path, errors);
                if (shape.Enum is { } allowed && !allowed.Contains(s, StringComparer.Ordinal))
                    errors.Add($"Value {Show(value)} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{string.Join(", ", allowed)}]");
                if (shape.Regex is { } regex && !regex.IsMatch(s))
                    errors.Add($"Value {Show(value)} at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {shape.Pattern}");
                return;

            case "integer" or "long":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n) || (shape.Type == "integer" && n is < int.MinValue or > int.MaxValue))
                {
                    types.Add($"Expected {(shape.Type == "integer" ? "an integer" : "a long")} at '{Where(path)}' ({shape.Name}), got {Show(value)}.");
                    return;
                }
                if (shape.Min is { } min && n < min)
                    errors.Add($"Value '{n}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min.ToString(CultureInfo.InvariantCulture)}");
                if (shape.Max is { } max && n > max)
                    errors.Add($"Value '{n}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max.ToString(CultureInfo.InvariantCulture)}");
                return;

            case "float" or "double":
                if (value.ValueKind != JsonValueKind.Number) { types.Add($"Expected a number at '{Where(path)}' ({shape.Name}), got {Show(value)}."); return; }
                var d = value.GetDouble();
                if (shape.Min is { } dmin && d < dmin)
                    errors.Add($"Value '{d.ToString(CultureInfo.InvariantCulture)}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {dmin.ToString(CultureInfo.InvariantCulture)}");
                if (shape.Max is { } dmax && d > dmax)
                    errors.Add($"Value '{d.ToString(CultureInfo.InvariantCulture)}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {dmax.ToString(CultureInfo.InvariantCulture)}");
                return;

            case "boolean":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) types.Add($"Expected a boolean at '{Where(path)}' ({shape.Name}), got {Show(value)}.");
                return;

            case "timestamp":
                if (value.ValueKind != JsonValueKind.Number) types.Add($"Expected a timestamp (seconds since the epoch) at '{Where(path)}' ({shape.Name}), got {Show(value)}.");
                return;

            case "blob":
                if (value.ValueKind != JsonValueKind.String || !IsBase64(value.GetString()!)) types.Add($"Expected base64 data at '{Where(path)}' ({shape.Name}).");
                return;

            default:
                types.Add($"The model's shape type '{shape.Type}' of {shape.Name} is not known to the emulator.");
                return;
        }
    }

    private static void CheckLength(ServiceModel.Shape shape, int length, JsonElement value, string path, List<string> errors)
    {
        if (shape.Min is { } min && length < min)
            errors.Add($"Value {Show(value)} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min.ToString(CultureInfo.InvariantCulture)}");
        if (shape.Max is { } max && length > max)
            errors.Add($"Value {Show(value)} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>AWS's member paths start lower-case: TrainingJobName → trainingJobName.</summary>
    private static string Join(string path, string member)
    {
        var name = member.Length > 0 ? char.ToLowerInvariant(member[0]) + member[1..] : member;
        return path.Length == 0 ? name : $"{path}.{name}";
    }

    private static string Where(string path) => path.Length == 0 ? "(request)" : path;

    private static string Show(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"'{value.GetString()}'",
        JsonValueKind.Null => "null",
        _ => $"'{value.GetRawText()}'",
    };

    private static bool IsBase64(string s)
    {
        var buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out _);
    }
}
