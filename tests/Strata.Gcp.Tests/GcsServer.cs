using Strata.Emulators.Gcp;

namespace Strata.Gcp.Tests;

/// <summary>One GCS emulator for the test collection; each test takes a bucket of its own.</summary>
public sealed class GcsServer : IAsyncLifetime
{
    private int _buckets;

    public GcsEmulator Emulator { get; private set; } = null!;

    public async Task InitializeAsync() => Emulator = await GcsEmulator.StartAsync(new GcsEmulatorOptions());

    public async Task DisposeAsync() => await Emulator.DisposeAsync();

    public string NewBucket()
    {
        var name = $"bucket-{Interlocked.Increment(ref _buckets)}-{Guid.NewGuid():n}"[..40];
        Emulator.CreateBucket(name);
        return name;
    }

    public GcsArtifactStoreConfig NewBucketConfig(string prefix = "lake") => new()
    {
        Path = $"gs://{NewBucket()}/{prefix}",
        EndpointUrl = Emulator.Endpoint.ToString(),
        PartSizeMb = 1, // small parts, so modest files already take several chunks and ranges
    };
}

[CollectionDefinition(Name)]
public sealed class GcsCollection : ICollectionFixture<GcsServer>
{
    public const string Name = "gcs emulator";
}
