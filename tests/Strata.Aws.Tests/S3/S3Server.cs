using System.Diagnostics;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;
using Strata.Aws.Tests.Support;

namespace Strata.Aws.Tests.S3;

/// <summary>
/// A real S3-compatible server for the tests: s3rver (installed by eng/aws/setup.sh under .test/node_modules),
/// started on a free loopback port with its own data directory, stopped by its process id on dispose.
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    public const string AccessKey = "S3RVER"; // s3rver's built-in credentials
    public const string SecretKey = "S3RVER";

    private Process? _process;
    private TempDirectory? _data;
    private int _buckets;

    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepoPaths.NodeModules, "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
            throw new InvalidOperationException($"s3rver is not installed at {script}: run eng/aws/setup.sh (test.sh does).");
        _data = new TempDirectory("strata-s3rver");
        var port = FreePort.Next();
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _data.Path,
        };
        foreach (var a in (string[])[script, "-d", _data.Combine("data"), "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent"])
            start.ArgumentList.Add(a);
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Endpoint = $"http://127.0.0.1:{port}";
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"s3rver exited with {_process.ExitCode} before it listened.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
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
