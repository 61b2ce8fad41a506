namespace Strata.Secrets;

/// <summary>Replaces secret values in text (e.g. a step's log lines) with <c>****</c>.</summary>
internal sealed class SecretMasker
{
    public const string Replacement = "****";

    // Shorter values would mask ordinary words and numbers everywhere and give away more than they hide.
    public const int MinimumLength = 4;

    private readonly string[] _values;

    public SecretMasker(IEnumerable<string> values)
    {
        // A multi-line value (a PEM key) reaches a line-by-line log one line at a time, so its lines are masked too.
        // Longest first, so a value that contains another is masked whole.
        // No secrets (most steps): none of the query below, whose first use costs a step process that starts cold.
        _values = values is ICollection<string> { Count: 0 } ? [] : values
            .SelectMany(v => v.Contains('\n') ? [v, .. v.Split('\n').Select(l => l.TrimEnd('\r'))] : new[] { v })
            .Where(v => v.Length >= MinimumLength)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)
            .ToArray();
    }

    public string Mask(string text)
    {
        foreach (var value in _values)
            text = text.Replace(value, Replacement, StringComparison.Ordinal);
        return text;
    }
}
