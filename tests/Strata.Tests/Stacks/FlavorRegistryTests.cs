namespace Strata.Tests.Stacks;

public sealed class FlavorRegistryTests
{
    private sealed class Named(string name, string description) : ArtifactStoreFlavor
    {
        public override string Name => name;
        public override string Description => description;
        public override Type ConfigType => typeof(object);
        public override ArtifactStore Create(object config, StrataHome home) => throw new NotSupportedException();
    }

    [Fact]
    public void Flavors_added_later_are_added_once_when_the_registry_is_first_read_in_the_order_the_calls_came()
    {
        var registry = new FlavorRegistry();
        var runs = 0;
        registry.AddLater(r =>
        {
            runs++;
            r.Add(new Named("disk", "added later")).Add(new Named("tape", "added later"));
        });
        Assert.Equal(0, runs);

        // An addition after it replaces what it adds under the same name: it runs first.
        registry.Add(new Named("disk", "added after"));
        Assert.Equal(1, runs);
        registry.AddLater(r => r.Add(new Named("cloud", "added later too")));

        var listed = registry.List(ComponentType.ArtifactStore).Where(f => f is Named).ToDictionary(f => f.Name, f => f.Description);
        Assert.Equal(new Dictionary<string, string> { ["cloud"] = "added later too", ["disk"] = "added after", ["tape"] = "added later" }, listed);
        Assert.Equal("added later too", registry.Get(ComponentType.ArtifactStore, "cloud").Description);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task A_thread_that_reads_while_another_adds_what_was_added_later_sees_all_of_it()
    {
        var registry = new FlavorRegistry();
        using var adding = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        registry.AddLater(r =>
        {
            r.Add(new Named("first", ""));
            adding.Set();
            proceed.Wait(TimeSpan.FromSeconds(10));
            r.Add(new Named("second", ""));
        });

        var adder = Task.Run(() => registry.List(ComponentType.ArtifactStore));
        adding.Wait(TimeSpan.FromSeconds(10));
        var reader = Task.Run(() => registry.List(ComponentType.ArtifactStore).Select(f => f.Name).ToArray());
        await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        Assert.False(reader.IsCompleted, "the reader waits for the additions in progress");
        proceed.Set();

        Assert.Contains("second", await reader);
        await adder;
    }
}
