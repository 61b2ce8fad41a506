using System.Globalization;
using System.Text;

namespace Strata.Artifacts;

/// <summary>
/// Strings, booleans, numbers, chars, dates, time spans, GUIDs and enums (and their nullable forms) as one readable
/// file, <c>value.txt</c>: invariant culture, round-trippable formats, a string's exact text as UTF-8.
/// </summary>
internal sealed class PrimitiveMaterializer : Materializer
{
    private const string FileName = "value.txt";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // Throws rather than silently replacing a lone surrogate, which UTF-8 cannot hold.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly Dictionary<Type, Func<string, object>> Parsers = new()
    {
        [typeof(string)] = s => s,
        [typeof(bool)] = s => bool.Parse(s),
        [typeof(char)] = s => s.Length == 1 ? s[0] : throw new FormatException($"'{s}' is not a single character."),
        [typeof(sbyte)] = s => sbyte.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(byte)] = s => byte.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(short)] = s => short.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(ushort)] = s => ushort.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(int)] = s => int.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(uint)] = s => uint.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(long)] = s => long.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(ulong)] = s => ulong.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(Int128)] = s => Int128.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(UInt128)] = s => UInt128.Parse(s, NumberStyles.Integer, Invariant),
        [typeof(Half)] = s => Half.Parse(s, NumberStyles.Float, Invariant),
        [typeof(float)] = s => float.Parse(s, NumberStyles.Float, Invariant),
        [typeof(double)] = s => double.Parse(s, NumberStyles.Float, Invariant),
        [typeof(decimal)] = s => decimal.Parse(s, NumberStyles.Number, Invariant),
        [typeof(DateTime)] = s => DateTime.ParseExact(s, "O", Invariant, DateTimeStyles.RoundtripKind),
        [typeof(DateTimeOffset)] = s => DateTimeOffset.ParseExact(s, "O", Invariant, DateTimeStyles.RoundtripKind),
        [typeof(TimeSpan)] = s => TimeSpan.ParseExact(s, "c", Invariant),
        [typeof(Guid)] = s => Guid.ParseExact(s, "D"),
    };

    public override string Name => "strata.primitive";

    internal override bool OpensFilesByName => true;

    public override bool CanHandle(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsEnum || Parsers.ContainsKey(t);
    }

    public override async Task SaveAsync(object value, Type type, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = Utf8.GetBytes(Format(value));
        }
        catch (EncoderFallbackException e)
        {
            throw new ArtifactException($"The {TypeNames.Display(type)} value holds an unpaired surrogate character, which UTF-8 cannot store.", e);
        }
        await using var stream = writer.CreateFile(FileName);
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<object> LoadAsync(Type type, IArtifactReader reader, CancellationToken cancellationToken)
    {
        string text;
        await using (var stream = reader.OpenFile(FileName))
        using (var textReader = new StreamReader(stream, Utf8, detectEncodingFromByteOrderMarks: false))
            text = await textReader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);

        var t = Nullable.GetUnderlyingType(type) ?? type;
        try
        {
            return t.IsEnum ? Enum.Parse(t, text) : Parsers[t](text);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new ArtifactException($"{FileName} in {reader.LocalDirectory} does not hold a {TypeNames.Display(type)}: {e.Message}", e);
        }
    }

    private static string Format(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        char c => c.ToString(),
        Half h => h.ToString("R", Invariant),
        float f => f.ToString("R", Invariant),
        double d => d.ToString("R", Invariant),
        DateTime d => d.ToString("O", Invariant),
        DateTimeOffset d => d.ToString("O", Invariant),
        TimeSpan t => t.ToString("c", Invariant),
        Guid g => g.ToString("D"),
        Enum e => e.ToString(), // a name, "A, B" for flags, or the number when undefined: Enum.Parse reads all three
        IFormattable f => f.ToString(null, Invariant), // integers and decimal (which keeps its scale)
        _ => throw new ArgumentException($"{value.GetType()} is not a primitive value.", nameof(value)),
    };
}
