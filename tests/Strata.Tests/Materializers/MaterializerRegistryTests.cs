using System.Text;

namespace Strata.Tests.Materializers;

public sealed class MaterializerRegistryTests : IDisposable
{
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    public sealed record Point(int X, int Y);

    [Theory]
    [InlineData(typeof(string), "strata.primitive")]
    [InlineData(typeof(int), "strata.primitive")]
    [InlineData(typeof(int?), "strata.primitive")]
    [InlineData(typeof(decimal), "strata.primitive")]
    [InlineData(typeof(Half), "strata.primitive")]
    [InlineData(typeof(DateTimeOffset), "strata.primitive")]
    [InlineData(typeof(Guid), "strata.primitive")]
    [InlineData(typeof(DayOfWeek), "strata.primitive")]
    [InlineData(typeof(byte[]), "strata.bytes")]
    [InlineData(typeof(sbyte[]), "strata.numeric_array")]
    [InlineData(typeof(int[]), "strata.numeric_array")]
    [InlineData(typeof(Half[]), "strata.numeric_array")]
    [InlineData(typeof(double[,]), "strata.numeric_array")]
    [InlineData(typeof(byte[,]), "strata.numeric_array")]
    [InlineData(typeof(float[][]), "strata.numeric_array")]
    [InlineData(typeof(byte[][]), "strata.numeric_array")]
    [InlineData(typeof(FileInfo), "strata.file")]
    [InlineData(typeof(DirectoryInfo), "strata.directory")]
    [InlineData(typeof(int[][][]), "strata.json")]
    [InlineData(typeof(double[][,]), "strata.json")]
    [InlineData(typeof(List<int>), "strata.json")]
    [InlineData(typeof(decimal[]), "strata.json")]
    [InlineData(typeof(bool[]), "strata.json")]
    [InlineData(typeof(string[]), "strata.json")]
    [InlineData(typeof(DateTime[]), "strata.json")]
    [InlineData(typeof(Point), "strata.json")]
    public void Picks_the_most_specific_built_in(Type type, string expected)
    {
        Assert.Equal(expected, new MaterializerRegistry().Get(type).Name);
    }

    [Fact]
    public void Specific_built_ins_leave_other_array_shapes_alone()
    {
        var registry = new MaterializerRegistry();
        foreach (var type in new[] { typeof(int[,,]), typeof(int[][][]), typeof(List<int>), typeof(IEnumerable<int>) })
            Assert.NotEqual("strata.numeric_array", registry.Find(type)?.Name);
    }

    /// <summary>A user materializer that stores strings upper-cased, so it is visible which one ran.</summary>
    private sealed class ShoutingMaterializer(string name = "test.shouting") : Materializer<string>
    {
        public override string Name => name;

        protected override async Task SaveAsync(string value, IArtifactWriter writer, CancellationToken cancellationToken)
        {
            await using var stream = writer.CreateFile("shout.txt");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(value.ToUpperInvariant()), cancellationToken);
        }

        protected override async Task<string> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
        {
            using var text = new StreamReader(reader.OpenFile("shout.txt"));
            return await text.ReadToEndAsync(cancellationToken);
        }
    }

    [Fact]
    public async Task A_registered_materializer_wins_over_the_built_in()
    {
        _h.Registry.Register(new ShoutingMaterializer());

        var (path, name) = await _h.SaveAsync("hello", typeof(string));

        Assert.Equal("test.shouting", name);
        await using var reader = await _h.Store.OpenArtifactAsync(path);
        Assert.Equal(["shout.txt"], reader.Files);
        Assert.Equal("HELLO", await _h.LoadAsync(path, name, typeof(string)));
        Assert.Equal("strata.primitive", _h.Registry.Get(typeof(int)).Name);
    }

    [Fact]
    public void The_latest_registration_wins()
    {
        var registry = new MaterializerRegistry()
            .Register(new ShoutingMaterializer("test.first"))
            .Register(new ShoutingMaterializer("test.second"));

        Assert.Equal("test.second", registry.Get(typeof(string)).Name);
    }

    [Fact]
    public void Finds_built_in_and_registered_materializers_by_name()
    {
        var registry = new MaterializerRegistry().Register(new ShoutingMaterializer());

        Assert.Equal("test.shouting", registry.GetByName("test.shouting").Name);
        foreach (var name in new[] { "strata.primitive", "strata.bytes", "strata.numeric_array", "strata.file", "strata.directory", "strata.json" })
            Assert.Equal(name, registry.GetByName(name).Name);
        Assert.Throws<StrataConfigException>(() => registry.GetByName("nobody.knows"));
    }

    [Fact]
    public void A_registered_materializer_with_a_built_in_name_shadows_it_by_name()
    {
        var mine = new ShoutingMaterializer("strata.primitive");

        Assert.Same(mine, new MaterializerRegistry().Register(mine).GetByName("strata.primitive"));
    }

    [Fact]
    public void Registering_does_not_change_other_registries()
    {
        _h.Registry.Register(new ShoutingMaterializer());

        Assert.Equal("strata.primitive", new MaterializerRegistry().Get(typeof(string)).Name);
    }
}
