using System.Text;

namespace Strata;

internal static class Naming
{
    /// <summary>PascalCase or camelCase to snake_case: <c>TrainModel</c> → <c>train_model</c>, <c>LoadCSV</c> → <c>load_csv</c>.</summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var prevLower = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var nextLower = i > 0 && i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]);
                if (sb.Length > 0 && sb[^1] != '_' && (prevLower || nextLower)) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (c == '-' || c == ' ' || c == '.') sb.Append('_');
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Levenshtein distance, for "did you mean" suggestions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var dist = Distance(input.ToLowerInvariant(), c.ToLowerInvariant());
            if (dist < bestDistance) { best = c; bestDistance = dist; }
        }
        return best is not null && bestDistance <= Math.Max(2, input.Length / 3) ? best : null;
    }
}
