using System.Security.Cryptography;
using System.Text.Json;
using Strata.Emulators.Gcp;
using Strata.Gcp.Tests.Support;

namespace Strata.Gcp.Tests;

/// <summary>
/// Google's own client accepts the emulator: <c>gcloud storage</c> (installed on these machines), with credentials
/// disabled and the storage endpoint pointed at the emulator, copies, lists and prints objects — including an artifact
/// the gcs store wrote, so gcloud sees the store's layout. A request gcloud sends that the emulator refuses fails here.
/// </summary>
[Collection(GcsCollection.Name)]
public sealed class GcloudTests(GcsServer server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-gcloud-").FullName;
    private Gcloud? _cli;

    private Gcloud Cli => _cli ??= new Gcloud(_dir, server.Emulator.Endpoint, "strata-emulator", "storage")
    {
        Properties = { ["storage/resumable_threshold"] = "1048576" }, // 1 MiB: modest files take the resumable path
    };

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task Gcloud_copies_lists_and_prints_objects_in_the_emulator()
    {
        var bucket = server.NewBucket();
        var small = Path.Combine(_dir, "hello.txt");
        await File.WriteAllTextAsync(small, "hello from gcloud\n");
        var large = Path.Combine(_dir, "large.bin");
        var largeBytes = RandomNumberGenerator.GetBytes((3 << 20) + 321); // above the resumable threshold set below
        await File.WriteAllBytesAsync(large, largeBytes);
        var before = server.Emulator.Requests.Count;

        await GcloudAsync("storage", "cp", small, $"gs://{bucket}/dir/hello.txt");
        await GcloudAsync("storage", "cp", large, $"gs://{bucket}/dir/large.bin");
        var listing = await GcloudAsync("storage", "ls", $"gs://{bucket}/");
        var longListing = await GcloudAsync("storage", "ls", "-l", $"gs://{bucket}/dir/");
        var printed = await GcloudAsync("storage", "cat", $"gs://{bucket}/dir/hello.txt");
        var back = Path.Combine(_dir, "back.bin");
        await GcloudAsync("storage", "cp", $"gs://{bucket}/dir/large.bin", back);
        var buckets = await GcloudAsync("storage", "ls");
        await GcloudAsync("storage", "rm", $"gs://{bucket}/dir/hello.txt");

        Assert.Contains($"gs://{bucket}/dir/", listing, StringComparison.Ordinal);
        Assert.Contains($"gs://{bucket}/dir/hello.txt", longListing, StringComparison.Ordinal);
        Assert.Contains($"{largeBytes.Length}", longListing, StringComparison.Ordinal);
        Assert.Equal("hello from gcloud\n", printed);
        Assert.Equal(largeBytes, await File.ReadAllBytesAsync(back));
        Assert.Contains($"gs://{bucket}/", buckets, StringComparison.Ordinal);
        Assert.Null(server.Emulator.ObjectContent(bucket, "dir/hello.txt"));
        var sent = server.Emulator.Requests.Skip(before).ToArray();
        Assert.Contains(sent, r => r.Operation == "objects.insert/multipart" && r.Status == 200);
        Assert.Contains(sent, r => r.Operation == "objects.insert/resumable" && r.Status == 200);
        Assert.Contains(sent, r => r.Operation == "objects.insert/resumable-data" && r.Status == 200);
        AssertNothingRefused(sent);
    }

    [Fact]
    public async Task Gcloud_reads_what_the_gcs_store_wrote()
    {
        var config = server.NewBucketConfig("lake");
        using var store = new GcsArtifactStore(config);
        var weights = RandomNumberGenerator.GetBytes(200_000);
        var content = await store.WriteArtifactAsync("runs/1/model", async (writer, ct) =>
        {
            await using (var w = writer.CreateFile("weights.bin")) await w.WriteAsync(weights, ct);
            await using (var c = writer.CreateFile("config/model.json")) await c.WriteAsync("{\"layers\":3}"u8.ToArray(), ct);
        });
        await store.WriteFileAsync("runs/1/result.json", "{\"accuracy\":0.93}"u8.ToArray());
        var root = config.Path;
        var before = server.Emulator.Requests.Count;

        var tree = await GcloudAsync("storage", "ls", "--recursive", $"{root}/runs/1/");
        var marker = await GcloudAsync("storage", "cat", $"{root}/runs/1/model/.strata/commit.json");
        var result = await GcloudAsync("storage", "cat", $"{root}/runs/1/result.json");
        using var json = JsonDocument.Parse(marker);
        var generation = json.RootElement.GetProperty("generation").GetString();
        var local = Path.Combine(_dir, "weights.bin");
        await GcloudAsync("storage", "cp", $"{root}/runs/1/model/.strata/{generation}/weights.bin", local);
        var config_ = await GcloudAsync("storage", "cat", $"{root}/runs/1/model/.strata/{generation}/config/model.json");

        Assert.Contains($"{root}/runs/1/model/.strata/commit.json", tree, StringComparison.Ordinal);
        Assert.Contains($"{root}/runs/1/model/.strata/{generation}/weights.bin", tree, StringComparison.Ordinal);
        Assert.Equal(content.Hash, json.RootElement.GetProperty("hash").GetString());
        Assert.Equal("{\"accuracy\":0.93}", result);
        Assert.Equal(weights, await File.ReadAllBytesAsync(local));
        Assert.Equal("{\"layers\":3}", config_);
        AssertNothingRefused(server.Emulator.Requests.Skip(before));
    }

    /// <summary>gcloud looks an object up before it writes or reads one, so 404s are part of a normal conversation; nothing else may fail.</summary>
    private static void AssertNothingRefused(IEnumerable<GcsRequest> requests)
    {
        var refused = requests.Where(r => r.Status >= 400 && !(r.Status == 404 && r.Operation == "objects.get")).ToArray();
        Assert.True(refused.Length == 0, "the emulator refused requests gcloud sent: " +
            string.Join("; ", refused.Select(r => $"{r.Method} {r.Path} ({r.Operation}) -> {r.Status} {r.Reason}")));
    }

    private Task<string> GcloudAsync(params string[] args) => Cli.RunAsync(args);
}
