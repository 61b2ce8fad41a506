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

    public class Described
    {
        [System.ComponentModel.Description("Where it goes.")]
        [ConfigAlias("location"), ConfigAlias("dir", ValueFormat = "/data/{0}")]
        public string Path { get; set; } = "/tmp";

        [System.ComponentModel.DataAnnotations.Required]
        [Secret]
        public string? Token { get; set; }

        public int Plain { get; set; } = 3;
    }

    public sealed class DescribedMore : Described;

    public sealed class KeyTwice
    {
        [ConfigAlias("b")]
        public string? A { get; set; }

        public string? B { get; set; }
    }

    [Fact]
    public void The_schema_reads_each_field_s_attributes_also_from_a_base_class()
    {
        foreach (var type in new[] { typeof(Described), typeof(DescribedMore) })
        {
            var fields = ConfigSchema.For(type).Fields.ToDictionary(f => f.Name);
            Assert.Equal(["path", "plain", "token"], fields.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(("Where it goes.", false, false, "/tmp"), (fields["path"].Description, fields["path"].Required, fields["path"].Secret, fields["path"].Default));
            Assert.Equal(["location", "dir"], fields["path"].Aliases);
            Assert.True(fields["token"].Required);
            Assert.True(fields["token"].Secret);
            Assert.Equal(("", false, false, "3"), (fields["plain"].Description, fields["plain"].Required, fields["plain"].Secret, fields["plain"].Default));
            Assert.True(ConfigSchema.For(typeof(Sample)).Fields.Single(f => f.Name == "name").Required);
        }
    }

    [Fact]
    public void A_config_type_that_names_a_key_twice_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ConfigSchema.For(typeof(KeyTwice)));
        Assert.Equal("Config type KeyTwice names a key twice: b.", e.Message);
    }
}
