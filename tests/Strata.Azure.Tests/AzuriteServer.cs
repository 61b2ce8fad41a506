using Azure.Storage;
using Azure.Storage.Blobs;

namespace Strata.Azure.Tests;

/// <summary>
/// A real Azure Blob Storage server for the tests: Azurite (installed by eng/azure/setup.sh under .test/node_modules), in memory,
/// on a free loopback port, stopped by its process id on dispose. Each test takes a container of its own.
/// </summary>
public sealed class AzuriteServer : IAsyncLifetime
{
    /// <summary>Azurite's well-known development account and key (the same in every Azurite; not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private NodeServer? _server;
    private TempDirectory? _dir;
    private int _containers;

    /// <summary>The blob service endpoint, path-style: <c>http://127.0.0.1:PORT/devstoreaccount1</c>.</summary>
    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _dir = new TempDirectory("strata-azurite");
        // --skipApiVersionCheck: Azure.Storage.Blobs 12.30 sends a newer API version than Azurite 3.35 knows.
        _server = await NodeServer.StartAsync("azurite", Path.Combine("dist", "src", "blob", "main.js"), "eng/azure/setup.sh",
            port => ["--blobHost", "127.0.0.1", "--blobPort", port, "--inMemoryPersistence", "--disableTelemetry",
                "--skipApiVersionCheck", "--silent"], _dir.Path);
        Endpoint = $"http://127.0.0.1:{_server.Port}/{AccountName}";
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _dir?.Dispose();
    }

    /// <summary>A fresh container's name, not yet created.</summary>
    public string NewContainerName() => $"c{Interlocked.Increment(ref _containers)}-{Guid.NewGuid():n}"[..30];

    /// <summary>A client of a container that talks to Azurite directly (to create, inspect, tamper with or plant blobs).</summary>
    public BlobContainerClient Container(string name) =>
        new(new Uri($"{Endpoint}/{name}"), new StorageSharedKeyCredential(AccountName, AccountKey));

    /// <summary>A config for a store in a fresh container, signed with the account key, in blocks of 1 MiB.</summary>
    public async Task<AzureBlobArtifactStoreConfig> NewContainerConfigAsync(string prefix = "lake")
    {
        var name = NewContainerName();
        await Container(name).CreateAsync();
        return new AzureBlobArtifactStoreConfig
        {
            Path = prefix.Length == 0 ? $"az://{name}" : $"az://{name}/{prefix}",
            EndpointUrl = Endpoint,
            AccountName = AccountName,
            AccountKey = AccountKey,
            PartSizeMb = 1, // small blocks, so modest files already take several blocks and ranges
        };
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteServer>
{
    public const string Name = "azurite";
}
