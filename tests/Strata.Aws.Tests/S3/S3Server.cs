using Amazon.S3;
using Amazon.S3.Model;

namespace Strata.Aws.Tests.S3;

/// <summary>
/// A real S3-compatible server for the tests: s3rver (installed by eng/aws/setup.sh under .test/node_modules),
/// started on a free loopback port with its own data directory, stopped by its process id on dispose (<see cref="NodeServer"/>).
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    public const string AccessKey = "S3RVER"; // s3rver's built-in credentials
    public const string SecretKey = "S3RVER";

    private NodeServer? _server;
    private TempDirectory? _data;
    private int _buckets;

    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _data = new TempDirectory("strata-s3rver");
        _server = await NodeServer.StartAsync("s3rver", Path.Combine("bin", "s3rver.js"), "eng/aws/setup.sh",
            port => ["-d", _data.Combine("data"), "-a", "127.0.0.1", "-p", port, "--silent"], _data.Path);
        Endpoint = $"http://127.0.0.1:{_server.Port}";
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _data?.Dispose();
    }

    /// <summary>A config for a store in a fresh bucket, with the options S3-compatible stores need (the defaults with an endpoint).</summary>
    public async Task<S3ArtifactStoreConfig> NewBucketConfigAsync(string prefix = "artifacts")
    {
        var bucket = $"strata-test-{Interlocked.Increment(ref _buckets)}-{Guid.NewGuid():n}"[..40].TrimEnd('-');
        using var s3 = RawClient();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        return new S3ArtifactStoreConfig
        {
            Path = prefix.Length == 0 ? $"s3://{bucket}" : $"s3://{bucket}/{prefix}",
            EndpointUrl = Endpoint,
            Region = "us-east-1",
            AccessKeyId = AccessKey,
            SecretAccessKey = SecretKey,
        };
    }

    /// <summary>A client that talks to the server directly (to inspect, tamper with or plant objects).</summary>
    public AmazonS3Client RawClient() => S3ClientFactory.Create(new S3ArtifactStoreConfig
    {
        Path = "s3://any-bucket",
        EndpointUrl = Endpoint,
        Region = "us-east-1",
        AccessKeyId = AccessKey,
        SecretAccessKey = SecretKey,
    });
}

[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Server>
{
    public const string Name = "s3";
}
