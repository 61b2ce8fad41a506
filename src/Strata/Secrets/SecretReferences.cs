using System.Text.RegularExpressions;

namespace Strata.Secrets;

/// <summary>
/// <c>{{NAME.key}}</c> references to secret values in component config, as a whole value or inside one
/// (<c>https://{{db.user}}:{{db.password}}@host</c>). Stored configs keep the references; they are resolved only when
/// a config is bound for use.
/// </summary>
internal static partial class SecretReferences
{
    [GeneratedRegex(@"\{\{(.*?)\}\}")]
    private static partial Regex Reference();

    public static bool Contains(string value) => Reference().IsMatch(value);

    /// <summary>Throws when a <c>{{...}}</c> in a value is not of the form <c>{{NAME.key}}</c>.</summary>
    public static void CheckSyntax(IReadOnlyDictionary<string, string> config, string context)
    {
        var problems = new List<string>();
        foreach (var (field, value) in config)
            foreach (Match m in Reference().Matches(value))
                if (Parse(m.Groups[1].Value) is null)
                    problems.Add($"'{field}' has '{m.Value}', which is not a secret reference {{{{NAME.key}}}}");
        if (problems.Count > 0)
            throw new StrataConfigException($"Invalid config for {context}: {string.Join("; ", problems)}.");
    }

    /// <summary>Warnings for fields the flavor marks secret whose value is given in plain text rather than as a reference.</summary>
    public static IReadOnlyList<string> PlainTextWarnings(ConfigSchema schema, IReadOnlyDictionary<string, string> config, string context) =>
        schema.Fields
            .Where(f => f.Secret && config.TryGetValue(f.Name, out var value) && value.Length > 0 && !Contains(value))
            .Select(f => $"'{f.Name}' of {context} is a secret stored in plain text; keep it in a secret instead: " +
                         $"`strata secret create NAME --{f.Name}=-` (reads the value from stdin), then --{f.Name}={{{{NAME.{f.Name}}}}}.")
            .ToArray();

    /// <summary>The config with every reference replaced by the secret's value.</summary>
    /// <exception cref="StrataConfigException">A referenced secret or key does not exist (names the component, the field and the reference).</exception>
    public static async Task<IReadOnlyDictionary<string, string>> ResolveAsync(IReadOnlyDictionary<string, string> config, SecretManager secrets,
        string context,
        CancellationToken cancellationToken)
    {
        if (!config.Values.Any(Contains)) return config;
        var loaded = new Dictionary<string, IReadOnlyDictionary<string, string>?>(StringComparer.Ordinal);
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, value) in config)
        {
            var matches = Reference().Matches(value);
            if (matches.Count == 0)
            {
                resolved[field] = value;
                continue;
            }
            var result = new System.Text.StringBuilder();
            var last = 0;
            foreach (Match m in matches)
            {
                var reference = Parse(m.Groups[1].Value)
                    ?? throw new StrataConfigException($"Config '{field}' of {context} has '{m.Value}', which is not a secret reference {{{{NAME.key}}}}.");
                if (!loaded.TryGetValue(reference.Name, out var values))
                    loaded[reference.Name] = values = await secrets.TryGetAsync(reference.Name, cancellationToken).ConfigureAwait(false);
                if (values is null)
                    throw new StrataConfigException(
                        $"Config '{field}' of {context} refers to {m.Value}, but there is no secret '{reference.Name}'; " +
                        $"create it with `strata secret create {reference.Name} --{reference.Key}=...`.");
                if (!values.TryGetValue(reference.Key, out var secretValue))
                    throw new StrataConfigException(
                        $"Config '{field}' of {context} refers to {m.Value}, but secret '{reference.Name}' has no key '{reference.Key}' " +
                        $"(keys: {string.Join(", ", values.Keys.Order(StringComparer.Ordinal))}); add it with `strata secret update {reference.Name} " +
                        $"--{reference.Key}=...`.");
                result.Append(value, last, m.Index - last).Append(secretValue);
                last = m.Index + m.Length;
            }
            resolved[field] = result.Append(value, last, value.Length - last).ToString();
        }
        return resolved;
    }

    private static (string Name, string Key)? Parse(string inner)
    {
        inner = inner.Trim();
        var dot = inner.LastIndexOf('.');
        if (dot <= 0) return null;
        var (name, key) = (inner[..dot], inner[(dot + 1)..]);
        return SecretManager.IsValidName(name) && SecretManager.ValidKey().IsMatch(key) ? (name, key) : null;
    }
}
