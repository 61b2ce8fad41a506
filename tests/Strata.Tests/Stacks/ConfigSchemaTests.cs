namespace Strata.Tests.Stacks;

public sealed class ConfigSchemaTests
{
    public enum Mode { Fast, VerySafe }

    public sealed class Sample
    {
        public required string Name { get; set; }
        public bool Shared { get; set; }
        public int? Count { get; set; }
        public float Ratio { get; set; }
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(1);
        public Mode Mode { get; set; }
        public IReadOnlyList<string> Tags { get; set; } = [];
        public Dictionary<string, string>? Labels { get; set; }
    }

    [Fact]
    public void Bind_converts_each_value_to_its_field_type_and_keeps_the_defaults_of_the_rest()
    {
        var config = (Sample)ConfigSchema.For(typeof(Sample)).Bind(new Dictionary<string, string>
        {
            ["name"] = "lake", ["shared"] = "yes", ["count"] = "3", ["ratio"] = "0.5", ["mode"] = "very_safe",
            ["tags"] = "a, b", ["labels"] = "team=ml,tier=1",
        });
        Assert.Equal("lake", config.Name);
        Assert.True(config.Shared);
        Assert.Equal(3, config.Count);
        Assert.Equal(0.5f, config.Ratio);
        Assert.Equal(TimeSpan.FromMinutes(1), config.Timeout);
        Assert.Equal(Mode.VerySafe, config.Mode);
        Assert.Equal(["a", "b"], config.Tags);
        Assert.Equal("ml", config.Labels!["team"]);
    }

    [Fact]
    public void Bind_names_missing_required_fields_and_wrong_values()
    {
        var schema = ConfigSchema.For(typeof(Sample));
        var missing = Assert.Throws<StrataConfigException>(() => schema.Bind(new Dictionary<string, string> { ["shared"] = "true" }));
        Assert.Contains("--name", missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<StrataConfigException>(() => schema.Bind(new Dictionary<string, string> { ["name"] = "x", ["count"] = "many" }));
        Assert.Contains("'count'", wrong.Message, StringComparison.Ordinal);
    }
}
