namespace Strata.Gcp.Tests;

public sealed class GcsConfigTests
{
    [Theory]
    [InlineData("gs://bucket", "bucket", "")]
    [InlineData("gs://my-bucket/a/b/", "my-bucket", "a/b")]
    [InlineData("gs://b.example.com/p", "b.example.com", "p")]
    public void Paths_parse_into_bucket_and_prefix(string path, string bucket, string prefix)
    {
        var location = GcsLocation.Parse(path);
        Assert.Equal((bucket, prefix), (location.Bucket, location.Prefix));
    }

    [Theory]
    [InlineData("s3://bucket")]
    [InlineData("gs://Bucket")]
    [InlineData("gs://ab")]
    [InlineData("gs://google-bucket")]
    [InlineData("gs://bucket/../x")]
    public void Bad_paths_are_config_errors_naming_them(string path)
    {
        var error = Assert.Throws<StrataConfigException>(() => GcsLocation.Parse(path));
        Assert.Contains(path.Length > 12 ? path[..12] : path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_endpoint_without_credentials_needs_no_application_default_credentials()
    {
        using var store = new GcsArtifactStore(new GcsArtifactStoreConfig { Path = "gs://bucket/x", EndpointUrl = "http://127.0.0.1:1/" });
        Assert.Equal("gs://bucket/x", store.Root);
        Assert.Equal("gs://bucket/x/a/b", store.UriOf("a//b"));
    }

    [Fact]
    public void Missing_key_files_and_bad_key_json_are_config_errors()
    {
        var missing = Assert.Throws<StrataConfigException>(() => new GcsArtifactStore(new GcsArtifactStoreConfig
        {
            Path = "gs://bucket",
            CredentialsFile = "/nonexistent/key.json",
        }));
        Assert.Contains("/nonexistent/key.json", missing.Message, StringComparison.Ordinal);
        Assert.Throws<StrataConfigException>(() => new GcsArtifactStore(new GcsArtifactStoreConfig { Path = "gs://bucket", CredentialsJson = "not json" }));
        Assert.Throws<StrataConfigException>(() => new GcsArtifactStore(new GcsArtifactStoreConfig
        {
            Path = "gs://bucket",
            CredentialsJson = """{"type":"service_account","client_email":"a@b"}""",
        }));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(2048, 4)]
    [InlineData(8, 0)]
    public void Part_size_and_concurrency_out_of_range_are_config_errors(int partSizeMb, int concurrency)
    {
        Assert.Throws<StrataConfigException>(() => GcsClientFactory.TransferSettings(new GcsArtifactStoreConfig
        {
            Path = "gs://bucket",
            PartSizeMb = partSizeMb,
            MaxConcurrency = concurrency,
        }));
    }

    [Fact]
    public void The_flavor_is_registered_as_gcs()
    {
        var registry = new FlavorRegistry().AddGcp();
        Assert.Equal(typeof(GcsArtifactStoreConfig), registry.Get(ComponentType.ArtifactStore, "gcs").ConfigType);
    }
}
