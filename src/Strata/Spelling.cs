namespace Strata;

/// <summary>"Did you mean" suggestions for a mistyped name, shared by config keys and the CLI's commands and options.</summary>
public static class Spelling
{
    /// <summary>The candidate closest to <paramref name="input"/> (ignoring case), or null when none is close enough to be a likely typo.</summary>
    /// <param name="input">What the user typed.</param>
    /// <param name="candidates">The names that exist.</param>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(candidates);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var dist = Distance(input.ToLowerInvariant(), c.ToLowerInvariant());
            if (dist < bestDistance) { best = c; bestDistance = dist; }
        }
        return best is not null && bestDistance <= Math.Max(2, input.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
