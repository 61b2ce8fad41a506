using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Strata.Testing;
using static Strata.Tests.Support.ArtifactFiles;

namespace Strata.Azure.Tests;

/// <summary>
/// The azure artifact store against a real Azurite: the conformance suite, then blocks, ranges, layout and the errors a user
/// can cause. Every test compares the bytes read back with the bytes written.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobArtifactStoreTests(AzuriteServer server) : ArtifactStoreConformance
{
    protected override async Task<ArtifactStore> CreateStoreAsync() => new AzureBlobArtifactStore(await server.NewContainerConfigAsync());

    protected override int LargeFileBytes => 24 << 20;

    private BlobContainerClient ContainerOf(AzureBlobArtifactStore store) => server.Container(store.Bucket);

    /// <summary>Rewrites the file's blob with one byte changed, keeping the hash in its metadata, as a corrupting server would.</summary>
    protected override async Task CorruptByteAsync(ArtifactStore store, string path, string file)
    {
        var azure = (AzureBlobArtifactStore)store;
        var key = azure.KeyOf(path);
        var name = (await NamesAsync(azure, key)).Single(n => n == key || (n.Contains("/.strata/", StringComparison.Ordinal) && n.EndsWith("/" + file,
            StringComparison.Ordinal)));
        var blob = ContainerOf(azure).GetBlobClient(name);
        var properties = (await blob.GetPropertiesAsync()).Value;
        var changed = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        changed[changed.Length / 2] ^= 0xff;
        await blob.UploadAsync(new BinaryData(changed), new BlobUploadOptions { Metadata = properties.Metadata });
    }

    /// <summary>A writer killed after uploading leaves a generation of blobs, a blob with staged blocks never committed, and no marker.</summary>
    protected override async Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path)
    {
        var azure = (AzureBlobArtifactStore)store;
        var generation = $"{azure.KeyOf(path)}/.strata/{Guid.NewGuid():n}";
        var container = ContainerOf(azure);
        await container.GetBlobClient($"{generation}/data.bin").UploadAsync(new BinaryData("half"u8.ToArray()));
        var blockId = Convert.ToBase64String("block-0"u8);
        await container.GetBlockBlobClient($"{generation}/big.bin").StageBlockAsync(blockId, new MemoryStream(new byte[1000]));
    }

    private async Task<List<string>> NamesAsync(AzureBlobArtifactStore store, string prefix = "")
    {
        var names = new List<string>();
        await foreach (var b in ContainerOf(store).GetBlobsAsync(new GetBlobsOptions { Prefix = prefix })) names.Add(b.Name);
        return names;
    }

    private async Task<(AzureBlobArtifactStore Store, RequestLog Log)> LoggedStoreAsync(Action<AzureBlobArtifactStoreConfig>? configure = null)
    {
        var config = await server.NewContainerConfigAsync();
        configure?.Invoke(config);
        var log = new RequestLog();
        return (new AzureBlobArtifactStore(AzureBlobClientFactory.Create(config, log), AzureBlobClientFactory.TransferSettings(config)), log);
    }

    [Fact]
    public async Task A_file_larger_than_a_block_goes_up_in_parallel_blocks_and_comes_back_in_ranges_byte_for_byte()
    {
        var (store, log) = await LoggedStoreAsync();
        var big = RandomNumberGenerator.GetBytes((3 << 20) + 12345);

        var content = await store.WriteArtifactAsync("big", Files(("a.bin", big), ("b.txt", "small"u8.ToArray())));
        await using var reader = await store.OpenArtifactAsync("big");

        Assert.Equal(big, await ReadAllAsync(reader, "a.bin"));
        Assert.Equal("small"u8.ToArray(), await ReadAllAsync(reader, "b.txt"));
        Assert.Equal(big.Length + 5, content.Size);
        var name = (await NamesAsync(store)).Single(n => n.EndsWith("/a.bin", StringComparison.Ordinal));
        var blocks = (await ContainerOf(store).GetBlockBlobClient(name).GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToArray();
        Assert.Equal(4, blocks.Length); // three blocks of 1 MiB and the rest
        Assert.Equal(big.Length, blocks.Sum(b => b.SizeLong));
        var requests = log.Requests.ToArray();
        Assert.Equal(4, requests.Count(r => r.Method == "PUT" && r.Uri.Query.Contains("comp=block&", StringComparison.Ordinal)));
        Assert.Single(requests, r => r.Method == "PUT" && r.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal));
        const long mib = 1 << 20;
        Assert.Equal([$"bytes=0-{mib - 1}", $"bytes={mib}-{2 * mib - 1}", $"bytes={2 * mib}-{3 * mib - 1}", $"bytes={3 * mib}-{big.Length - 1}"],
            requests.Where(r => r.Method == "GET" && r.Uri.AbsolutePath.EndsWith("/a.bin", StringComparison.Ordinal)).Select(r => r.Range).Order());
    }

    [Fact]
    public async Task The_layout_is_a_commit_marker_beside_one_generation_of_blobs_each_carrying_its_hash()
    {
        var store = (AzureBlobArtifactStore)Store;
        await store.WriteArtifactAsync("runs/1/model", Files(("w.bin", [1, 2, 3])));
        await store.WriteArtifactAsync("runs/1/model", Files(("w.bin", [4, 5, 6])));

        var names = await NamesAsync(store, "lake/runs/1/model/");
        Assert.Equal(2, names.Count); // the replaced generation is gone
        Assert.Contains("lake/runs/1/model/.strata/commit.json", names);
        var blob = ContainerOf(store).GetBlobClient(names.Single(n => n.EndsWith("/w.bin", StringComparison.Ordinal)));
        Assert.Equal([4, 5, 6], (await blob.DownloadContentAsync()).Value.Content.ToArray());
        Assert.StartsWith(ContentHasher.Prefix, (await blob.GetPropertiesAsync()).Value.Metadata[AzureBlobArtifactStore.MetadataName], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../b")]
    [InlineData("/abs")]
    [InlineData("a/.strata/commit.json")]
    public async Task A_path_that_escapes_the_root_or_uses_the_reserved_segment_is_refused_before_any_request(string path)
    {
        var (store, log) = await LoggedStoreAsync();

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.WriteFileAsync(path, "x"u8.ToArray()));

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Empty(log.Requests);
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_with_an_error_naming_the_credentials()
    {
        var config = await server.NewContainerConfigAsync();
        config.AccountKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var store = new AzureBlobArtifactStore(config);

        var error = await Assert.ThrowsAsync<StrataConfigException>(() => store.WriteFileAsync("x.txt", "x"u8.ToArray()));

        Assert.Contains("refused the azure artifact store's credentials (403", error.Message, StringComparison.Ordinal);
        Assert.Contains("account_key", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_missing_container_is_an_error_saying_so_for_writes_and_reads()
    {
        var config = await server.NewContainerConfigAsync();
        config.Path = $"az://{server.NewContainerName()}/lake"; // never created
        var store = new AzureBlobArtifactStore(config);

        var write = await Assert.ThrowsAsync<StrataConfigException>(() => store.WriteArtifactAsync("a", Files(("x.bin", [1]))));
        var read = await Assert.ThrowsAsync<StrataConfigException>(() => store.ReadFileAsync("x.txt"));

        Assert.All(new[] { write, read }, e => Assert.Contains($"The container '{store.Bucket}' does not exist", e.Message, StringComparison.Ordinal));
        Assert.DoesNotContain('\n', write.Message);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_an_error_naming_it()
    {
        var config = await server.NewContainerConfigAsync();
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        config.EndpointUrl = $"http://127.0.0.1:{port}";
        config.MaxRetries = 0;
        var store = new AzureBlobArtifactStore(config);

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.ReadFileAsync("x.txt"));

        Assert.Contains($"The blob endpoint http://127.0.0.1:{port}/{AzuriteServer.AccountName}/", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be reached", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task No_credentials_for_DefaultAzureCredential_is_an_error_naming_the_ways_to_give_them()
    {
        // https and no key: the client asks DefaultAzureCredential for a token, which finds none on a test machine (no AZURE_*
        // variables, no managed identity, no Azure CLI login). Signed in to Azure, the request would go out instead.
        Assert.Null(Environment.GetEnvironmentVariable("AZURE_CLIENT_ID"));
        var store = new AzureBlobArtifactStore(AzureBlobClientFactory.Create(new AzureBlobArtifactStoreConfig
        {
            Path = "az://c00",
            AccountName = "acct",
            EndpointUrl = "https://127.0.0.1:1/acct",
            MaxRetries = 0,
        }, null, _ => null), AzureBlobClientFactory.TransferSettings(new AzureBlobArtifactStoreConfig { Path = "az://c00" }));

        var error = await Assert.ThrowsAsync<StrataConfigException>(() => store.ReadFileAsync("x.txt"));

        Assert.StartsWith("No usable Azure credentials for the azure artifact store: DefaultAzureCredential found none", error.Message, StringComparison.Ordinal);
        Assert.Contains("az login", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_connection_string_alone_reaches_the_account()
    {
        var config = await server.NewContainerConfigAsync();
        var store = new AzureBlobArtifactStore(new AzureBlobArtifactStoreConfig
        {
            Path = config.Path,
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};" +
                $"BlobEndpoint={server.Endpoint};",
        });
        var bytes = RandomNumberGenerator.GetBytes(5000);

        var content = await store.WriteArtifactAsync("m", Files(("w.bin", bytes)));

        Assert.True(await store.VerifyAsync("m", content.Hash));
        await using var reader = await store.OpenArtifactAsync("m");
        Assert.Equal(bytes, await ReadAllAsync(reader, "w.bin"));
    }

    [Fact]
    public async Task A_container_sas_token_signs_every_operation_the_store_needs()
    {
        var config = await server.NewContainerConfigAsync();
        var container = server.Container(config.Path["az://".Length..].Split('/')[0]);
        var sas = container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.Write | BlobContainerSasPermissions.Delete |
            BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)).Query;
        config.AccountKey = null;
        config.SasToken = sas; // with its leading '?', as the portal copies it
        var store = new AzureBlobArtifactStore(config);

        var content = await store.WriteArtifactAsync("m", Files(("w.bin", [1, 2, 3])));
        await store.WriteArtifactAsync("m", Files(("w.bin", [1, 2, 3]))); // the rewrite lists and deletes the replaced generation

        Assert.True(await store.VerifyAsync("m", content.Hash));
        Assert.Equal(2, (await NamesAsync(store)).Count); // the marker and the one file
        await store.DeleteAsync("m");
        Assert.False(await store.ExistsAsync("m"));
    }

    [Fact]
    public async Task A_store_at_the_container_root_works()
    {
        var store = new AzureBlobArtifactStore(await server.NewContainerConfigAsync(prefix: ""));
        var bytes = RandomNumberGenerator.GetBytes(100);

        await store.WriteArtifactAsync("m", Files(("w.bin", bytes)));

        Assert.Equal($"az://{store.Bucket}/m", store.UriOf("m"));
        Assert.Equal("m", store.KeyOf("m"));
        await using var reader = await store.OpenArtifactAsync("m");
        Assert.Equal(bytes, await ReadAllAsync(reader, "w.bin"));
    }
}
