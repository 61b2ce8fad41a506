using System.Text.Json;

namespace Strata.Tests.StepOperators;

public class EntrypointLiteralTests
{
    public enum Mode { Fast, Slow }

    private static object? Serializer(string json, Type type) => JsonSerializer.Deserialize(json, type, StrataJson.Options);

    [Theory]
    [InlineData("41", typeof(int))]
    [InlineData("-9007199254740993", typeof(long))]
    [InlineData("0.1", typeof(double))]
    [InlineData("\"caf\\u00e9 \\\"quoted\\\"\"", typeof(string))]
    [InlineData("true", typeof(bool))]
    public void A_primitive_literal_is_read_as_the_serializer_reads_it(string json, Type type)
    {
        var value = StrataEntrypoint.Primitive(JsonDocument.Parse(json).RootElement, type);
        Assert.NotNull(value);
        Assert.IsType(type, value);
        Assert.Equal(Serializer(json, type), value);
    }

    [Theory]
    [InlineData("1.5", typeof(int))]       // not an int: the serializer decides (and refuses)
    [InlineData("41", typeof(Mode))]       // an enum is not its number
    [InlineData("41", typeof(int?))]
    [InlineData("\"41\"", typeof(int))]
    [InlineData("[1,2]", typeof(int[]))]
    public void Anything_else_is_left_to_the_serializer(string json, Type type) =>
        Assert.Null(StrataEntrypoint.Primitive(JsonDocument.Parse(json).RootElement, type));
}
