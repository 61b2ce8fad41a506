using System.Globalization;
using System.Text;

namespace Strata.Emulators.Gcp;

/// <summary>
/// The filter language of Cloud Logging and of AIP-160 list filters, as far as clients use it on these APIs: comparisons
/// (<c>= != &lt; &lt;= &gt; &gt;= :</c>) of a field path with a quoted or bare value, <c>AND</c> (or juxtaposition), <c>OR</c>
/// (which binds tighter than AND, as in Cloud Logging), <c>NOT</c> / <c>-</c> and parentheses. Timestamps compare as times.
/// </summary>
internal sealed class LogFilter
{
    private readonly Func<Func<string, string?>, bool> _test;

    private LogFilter(Func<Func<string, string?>, bool> test) => _test = test;

    /// <summary>Whether the item whose fields <paramref name="field"/> gives (null: absent) matches.</summary>
    public bool Matches(Func<string, string?> field) => _test(field);

    /// <exception cref="GcpApiException">400 INVALID_ARGUMENT for a filter that does not parse.</exception>
    public static LogFilter Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new LogFilter(_ => true);
        var parser = new Parser(Tokens(text));
        var test = parser.And();
        if (!parser.AtEnd) throw Invalid(text, $"unexpected '{parser.Peek}'");
        return new LogFilter(test);
    }

    private static GcpApiException Invalid(string text, string why) => new(400, "INVALID_ARGUMENT", $"Invalid filter \"{text}\": {why}.");

    private static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '(' or ')') { tokens.Add(c.ToString()); i++; continue; }
            if (c == '"')
            {
                var sb = new StringBuilder("\"");
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length) i++;
                    sb.Append(text[i++]);
                }
                if (i >= text.Length) throw Invalid(text, "a quote is not closed");
                i++;
                tokens.Add(sb.ToString());
                continue;
            }
            if (c is '=' or ':' or '<' or '>' or '!')
            {
                var op = i + 1 < text.Length && text[i + 1] == '=' ? text.Substring(i, 2) : c.ToString();
                tokens.Add(op);
                i += op.Length;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')' or '"' or '=' or ':' or '<' or '>' or '!')) i++;
            tokens.Add(text[start..i]);
        }
        return tokens;
    }

    private sealed class Parser(List<string> tokens)
    {
        private int _at;

        public bool AtEnd => _at >= tokens.Count;

        public string Peek => AtEnd ? "" : tokens[_at];

        private string Next() => AtEnd ? throw Invalid(string.Join(' ', tokens), "it ends too early") : tokens[_at++];

        public Func<Func<string, string?>, bool> And()
        {
            var terms = new List<Func<Func<string, string?>, bool>> { Or() };
            while (!AtEnd && Peek != ")")
            {
                if (Peek == "AND") _at++;
                terms.Add(Or());
            }
            return f => terms.All(t => t(f));
        }

        private Func<Func<string, string?>, bool> Or()
        {
            var terms = new List<Func<Func<string, string?>, bool>> { Unary() };
            while (Peek == "OR")
            {
                _at++;
                terms.Add(Unary());
            }
            return f => terms.Any(t => t(f));
        }

        private Func<Func<string, string?>, bool> Unary()
        {
            if (Peek is "NOT" or "-")
            {
                _at++;
                var inner = Unary();
                return f => !inner(f);
            }
            if (Peek.StartsWith('-') && Peek.Length > 1)
            {
                tokens[_at] = tokens[_at][1..];
                var inner = Unary();
                return f => !inner(f);
            }
            if (Peek == "(")
            {
                _at++;
                var inner = And();
                if (Next() != ")") throw Invalid(string.Join(' ', tokens), "a parenthesis is not closed");
                return inner;
            }
            var field = Next();
            if (Peek is not ("=" or "!=" or "<" or "<=" or ">" or ">=" or ":"))
            {
                // a bare word: a global restriction on the text of the entry
                var word = Unquote(field);
                return f => (f("textPayload") ?? "").Contains(word, StringComparison.OrdinalIgnoreCase);
            }
            var op = Next();
            return Comparison(field, op, Unquote(Next()));
        }

        private static string Unquote(string token) => token.StartsWith('"') ? token[1..] : token;
    }

    /// <summary>A comparison of one field; a timestamp's value is read once, when the filter is parsed.</summary>
    private static Func<Func<string, string?>, bool> Comparison(string field, string op, string expected)
    {
        var isTime = field == "timestamp" || field.EndsWith("_time", StringComparison.Ordinal) || field.EndsWith("Time", StringComparison.Ordinal);
        DateTimeOffset? expectedTime = isTime && DateTimeOffset.TryParse(expected, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t : null;
        return f =>
        {
            var actual = f(field);
            if (op == ":") return actual is not null && (expected == "*" || actual.Contains(expected, StringComparison.OrdinalIgnoreCase));
            if (actual is null) return op == "!=";
            var order = expectedTime is { } b && DateTimeOffset.TryParse(actual, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var a)
                ? a.CompareTo(b)
                : string.CompareOrdinal(actual, expected);
            return op switch
            {
                "=" => order == 0,
                "!=" => order != 0,
                "<" => order < 0,
                "<=" => order <= 0,
                ">" => order > 0,
                _ => order >= 0,
            };
        };
    }
}
