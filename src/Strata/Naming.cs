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
}
