using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Strata.Stacks;

/// <summary>Marks a config field whose value is a credential: shown masked, and given as a secret reference.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecretAttribute : Attribute;

/// <summary>
/// Another name a config field accepts, e.g. the one another tool's documentation uses. A value given under the alias is
/// stored under the field's own key, so <c>describe</c> and <c>export</c> show that one; giving both is an error.
/// Repeat the attribute for more aliases.
/// </summary>
/// <param name="alias">The alias, snake_case.</param>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true)]
public sealed class ConfigAliasAttribute(string alias) : Attribute
{
    /// <summary>The alias, snake_case.</summary>
    public string Alias { get; } = alias;

    /// <summary>
    /// How a value given under the alias becomes the field's value: a template in which <c>{0}</c> stands for the value, e.g.
    /// <c>s3://{0}/sagemaker</c> for a bucket name standing for an S3 URI. Default: the value as given.
    /// </summary>
    public string? ValueFormat { get; init; }
}

/// <summary>One field of a flavor's config, as the CLI spells it.</summary>
public sealed record ConfigField(string Name, string TypeName, bool Required, string? Default, string Description, bool Secret)
{
    internal PropertyInfo Property { get; init; } = null!;

    internal IReadOnlyList<ConfigAliasAttribute> AliasAttributes { get; init; } = [];

    /// <summary>Other names the field accepts (<see cref="ConfigAliasAttribute"/>); values given under them are stored under <see cref="Name"/>.</summary>
    public IReadOnlyList<string> Aliases => AliasAttributes.Select(a => a.Alias).ToArray();
}

/// <summary>
/// The typed config of a flavor, read from its config class: public settable properties become snake_case fields;
/// C# <c>required</c> members are required; the defaults are those of a new instance; <see cref="DescriptionAttribute"/>
/// describes a field, <see cref="SecretAttribute"/> marks a credential and <see cref="ConfigAliasAttribute"/> gives it other names.
/// Values travel as strings (<c>--key=value</c>) and are checked against the field's type.
/// </summary>
public sealed class ConfigSchema
{
    private ConfigSchema(Type configType, IReadOnlyList<ConfigField> fields)
    {
        ConfigType = configType;
        Fields = fields;
    }

    public Type ConfigType { get; }
    public IReadOnlyList<ConfigField> Fields { get; }

    /// <summary>
    /// The schema of a config type, read once per type. Every run asks for the schemas of its stack's components: read
    /// afresh, each cost the reflection again, and new property objects whose getters .NET compiles anew once called a
    /// few times.
    /// </summary>
    public static ConfigSchema For(Type configType) => Schemas.GetValue(configType, Read);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Type, ConfigSchema> Schemas = new();

    // Plain loops and one read of each property's attributes: a step process reads its artifact store's schema as it starts,
    // and there each LINQ operator and attribute lookup is a first use that costs it a fraction of a millisecond.
    private static ConfigSchema Read(Type configType)
    {
        var instance = Activator.CreateInstance(configType);
        var fields = new List<ConfigField>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var twice = new List<string>();
        foreach (var p in configType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!p.CanWrite || p.GetIndexParameters().Length > 0) continue;
            var (required, description, secret) = (false, "", false);
            var aliases = new List<ConfigAliasAttribute>();
            foreach (var attribute in Attribute.GetCustomAttributes(p, inherit: true))
            {
                switch (attribute)
                {
                    case RequiredMemberAttribute or System.ComponentModel.DataAnnotations.RequiredAttribute: required = true; break;
                    case DescriptionAttribute d: description = d.Description; break;
                    case SecretAttribute: secret = true; break;
                    case ConfigAliasAttribute a: aliases.Add(a); break;
                }
            }
            var field = new ConfigField(Naming.ToSnakeCase(p.Name), TypeName(p.PropertyType), required, Format(p.GetValue(instance)), description, secret)
            {
                Property = p,
                AliasAttributes = aliases,
            };
            fields.Add(field);
            if (!names.Add(field.Name)) twice.Add(field.Name);
            foreach (var alias in aliases)
                if (!names.Add(alias.Alias)) twice.Add(alias.Alias);
        }
        if (twice.Count > 0)
            throw new InvalidOperationException(
                $"Config type {configType.Name} names a key twice: {string.Join(", ", twice.Distinct(StringComparer.Ordinal))}.");
        return new ConfigSchema(configType, fields);
    }

    /// <summary>Checks raw <c>key=value</c> pairs: every key known, every value of its field's type.</summary>
    /// <param name="values">The raw values.</param>
    /// <param name="requireAll">Whether missing required fields are an error (registering: yes; updating a few keys: no).</param>
    /// <param name="context">Names the component in messages, e.g. "artifact-store flavor 'local'".</param>
    /// <exception cref="StrataConfigException">Lists every unknown key (with the closest known one), wrong value and missing field.</exception>
    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> values, bool requireAll, string context)
    {
        var problems = new List<string>();
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var givenAs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, given) in values)
        {
            var normalized = key.Replace('-', '_');
            var (field, alias) = Find(normalized);
            if (field is null)
            {
                var closest = Spelling.Closest(normalized, Fields.Select(f => f.Name).Concat(Fields.SelectMany(f => f.Aliases)));
                problems.Add(closest is null
                    ? $"unknown config key '{key}' (known: {(Fields.Count == 0 ? "none" : string.Join(", ", Fields.Select(f => f.Name)))})"
                    : $"unknown config key '{key}'; did you mean '{closest}'?");
                continue;
            }
            if (givenAs.TryGetValue(field.Name, out var other))
            {
                problems.Add(other == field.Name || normalized == field.Name
                    ? $"both '{field.Name}' and its alias '{(other == field.Name ? normalized : other)}' are given; give one of them"
                    : $"both '{other}' and '{normalized}' are given, aliases of '{field.Name}'; give one of them");
                continue;
            }
            givenAs[field.Name] = normalized;
            if (alias?.ValueFormat is not null && IsSecretReference(given))
            {
                problems.Add($"'{normalized}' cannot be a secret reference; give '{field.Name}' instead");
                continue;
            }
            var value = alias?.ValueFormat is { } format
                ? format.Replace("{0}", given, StringComparison.Ordinal)
                : given;
            if (!IsSecretReference(value))
            {
                if (TryConvert(value, field.Property.PropertyType, out var converted) is { } error)
                    problems.Add($"'{normalized}' must be {Article(field.TypeName)}: {error}");
                else if (OutOfRange(field, converted) is { } range)
                    problems.Add(range);
            }
            result[field.Name] = value;
        }
        if (requireAll && MissingRequired(result) is { Count: > 0 } missing)
            problems.Add($"missing required config {string.Join(", ", missing)}");
        if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            throw new StrataConfigException($"Invalid config for {context}: {message}{(message.EndsWith('?') ? "" : ".")}");
        }
        return result;
    }

    /// <summary>The key a field is stored under, given its key or one of its aliases (<c>-</c> or <c>_</c>); other keys come back normalized.</summary>
    internal string CanonicalKey(string key)
    {
        var normalized = key.Replace('-', '_');
        return Find(normalized).Field?.Name ?? normalized;
    }

    private (ConfigField? Field, ConfigAliasAttribute? Alias) Find(string normalized)
    {
        foreach (var f in Fields)
        {
            if (f.Name == normalized) return (f, null);
            if (f.AliasAttributes.FirstOrDefault(a => a.Alias == normalized) is { } alias) return (f, alias);
        }
        return (null, null);
    }

    /// <summary>The required fields <paramref name="values"/> does not give, as <c>--name</c>.</summary>
    private List<string> MissingRequired(IReadOnlyDictionary<string, string> values)
    {
        var missing = new List<string>();
        foreach (var field in Fields)
            if (field.Required && !values.ContainsKey(field.Name)) missing.Add("--" + field.Name);
        return missing;
    }

    /// <summary>Builds the typed config object from validated values (secret references must be resolved first).</summary>
    /// <param name="values">The values.</param>
    /// <param name="fromSecrets">Fields whose values came from secrets: an error about them does not show the value.</param>
    public object Bind(IReadOnlyDictionary<string, string> values, IReadOnlySet<string>? fromSecrets = null)
    {
        if (MissingRequired(values) is { Count: > 0 } missing)
            throw new StrataConfigException($"Missing required config {string.Join(", ", missing)}.");
        // Set directly rather than through JSON: a step process opens its artifact store with this, and reflection-based
        // JSON would cost it its start-up.
        var config = Activator.CreateInstance(ConfigType)!;
        foreach (var field in Fields)
            if (values.TryGetValue(field.Name, out var raw))
            {
                if (TryConvert(raw, field.Property.PropertyType, out var converted) is { } error)
                    throw new StrataConfigException(fromSecrets?.Contains(field.Name) == true
                        ? $"Config value '{field.Name}' must be {Article(field.TypeName)}, but the secret it refers to holds something else; correct it with " +
                            "`strata secret update`."
                        : $"Config value '{field.Name}' must be {Article(field.TypeName)}: {error}.");
                if (OutOfRange(field, converted) is { } range)
                    throw new StrataConfigException($"Config value {range}.");
                field.Property.SetValue(config, converted);
            }
        return config;
    }

    /// <summary>The values of an object of this schema's type that differ from a new instance's, as strings.</summary>
    public IReadOnlyDictionary<string, string> ValuesOf(object config)
    {
        var defaults = Activator.CreateInstance(ConfigType);
        var values = new Dictionary<string, string>();
        foreach (var field in Fields)
        {
            var value = Format(field.Property.GetValue(config));
            if (value is not null && value != Format(field.Property.GetValue(defaults)))
                values[field.Name] = value;
        }
        return values;
    }

    public static bool IsSecretReference(string value) => value.StartsWith("{{", StringComparison.Ordinal) && value.EndsWith("}}", StringComparison.Ordinal);

    /// <summary>Checks a field's <see cref="RangeAttribute"/>; returns an error naming the allowed range, or null.</summary>
    private static string? OutOfRange(ConfigField field, object? value)
    {
        if (value is null || field.Property.GetCustomAttribute<RangeAttribute>() is not { } range || range.IsValid(value)) return null;
        var unbounded = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture) >= int.MaxValue;
        return unbounded
            ? $"'{field.Name}' must be at least {Format(range.Minimum)} (got {Format(value)})"
            : $"'{field.Name}' must be between {Format(range.Minimum)} and {Format(range.Maximum)} (got {Format(value)})";
    }

    private static string Article(string typeName) => typeName switch
    {
        "integer" => "an integer",
        "enum" => "one of the listed values",
        _ => "a " + typeName,
    };

    private static string TypeName(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string)) return "string";
        if (t == typeof(bool)) return "boolean";
        if (t == typeof(int) || t == typeof(long)) return "integer";
        if (t == typeof(double) || t == typeof(float)) return "number";
        if (t == typeof(TimeSpan)) return "duration";
        if (t.IsEnum) return string.Join("|", Enum.GetNames(t).Select(Naming.ToSnakeCase));
        if (t == typeof(string[]) || t == typeof(List<string>) || t == typeof(IReadOnlyList<string>)) return "list";
        if (typeof(IDictionary<string, string>).IsAssignableFrom(t) || t == typeof(IReadOnlyDictionary<string, string>)) return "map";
        return t.Name;
    }

    private static string? Format(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        TimeSpan ts => ts.ToString("c", CultureInfo.InvariantCulture),
        Enum e => Naming.ToSnakeCase(e.ToString()),
        IEnumerable<KeyValuePair<string, string>> map => map.Any() ? string.Join(",", map.Select(kv => $"{kv.Key}={kv.Value}")) : null,
        IEnumerable<string> list => list.Any() ? string.Join(",", list) : null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>Converts a string to the field's type; returns an error message, or null on success.</summary>
    private static string? TryConvert(string raw, Type type, out object? value)
    {
        value = null;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var s = raw.Trim();
        if (t == typeof(string)) { value = raw; return null; }
        if (t == typeof(bool))
        {
            if (s.ToLowerInvariant() is "true" or "yes" or "1" or "on") { value = true; return null; }
            if (s.ToLowerInvariant() is "false" or "no" or "0" or "off") { value = false; return null; }
            return $"'{raw}' is not true or false";
        }
        if (t == typeof(int))
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? Set(out value, i) : $"'{raw}' is not an integer";
        if (t == typeof(long))
            return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? Set(out value, l) : $"'{raw}' is not an integer";
        if (t == typeof(double) || t == typeof(float))
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? Set(out value, t == typeof(float) ? (object)(float)d : d)
                : $"'{raw}' is not a number";
        if (t == typeof(TimeSpan))
            return Durations.TryParse(s, out var ts) ? Set(out value, ts) : $"'{raw}' is not a duration (e.g. 90s, 15m, 2h, 01:30:00)";
        if (t.IsEnum)
        {
            var match = Enum.GetNames(t).FirstOrDefault(n => Naming.ToSnakeCase(n) == s.ToLowerInvariant().Replace('-', '_')
                || n.Equals(s, StringComparison.OrdinalIgnoreCase));
            return match is not null
                ? Set(out value, Enum.Parse(t, match))
                : $"'{raw}' is not one of {string.Join(", ", Enum.GetNames(t).Select(Naming.ToSnakeCase))}";
        }
        if (t == typeof(string[]) || t == typeof(List<string>) || t == typeof(IReadOnlyList<string>))
        {
            var items = s.Length == 0 ? [] : s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            value = t == typeof(List<string>) ? items.ToList() : items;
            return null;
        }
        if (typeof(IDictionary<string, string>).IsAssignableFrom(t) || t == typeof(IReadOnlyDictionary<string, string>))
        {
            var map = new Dictionary<string, string>();
            foreach (var pair in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                if (eq <= 0) return $"'{pair}' is not key=value";
                map[pair[..eq]] = pair[(eq + 1)..];
            }
            value = map;
            return null;
        }
        return $"fields of type {t.Name} are not supported";
    }

    private static string? Set(out object? value, object v)
    {
        value = v;
        return null;
    }
}

/// <summary>Durations as users write them: <c>90s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>, <c>500ms</c>, or <c>hh:mm:ss</c>.</summary>
public static class Durations
{
    public static bool TryParse(string s, out TimeSpan value)
    {
        s = s.Trim();
        value = default;
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];
        foreach (var (suffix, seconds) in units.OrderByDescending(u => u.Suffix.Length))
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(s[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                value = TimeSpan.FromSeconds(n * seconds);
                return true;
            }
        return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
