using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata;

internal static class StrataJson
{
    /// <summary>Options for user values (parameters and JSON artifacts): fields included, enums as strings.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        IncludeFields = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Options for Strata's own documents (config, CLI output): snake_case, indented.</summary>
    public static readonly JsonSerializerOptions Documents = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Like <see cref="Documents"/> on one line (environment variables, stored handles).</summary>
    public static readonly JsonSerializerOptions Compact = new(Documents) { WriteIndented = false };
}

internal static class TypeNames
{
    /// <summary>A readable C#-like name: <c>List&lt;int&gt;</c> rather than <c>List`1[[System.Int32...]]</c>.</summary>
    public static string Display(Type t)
    {
        if (t.IsArray) return Display(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (!t.IsGenericType) return t.Name;
        var name = t.Name[..t.Name.IndexOf('`')];
        return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Display))}>";
    }
}
