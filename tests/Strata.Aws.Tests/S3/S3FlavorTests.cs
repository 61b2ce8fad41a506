namespace Strata.Aws.Tests.S3;

[Collection(S3Collection.Name)]
public sealed class S3FlavorTests(S3Server server)
{
    private static Flavor S3Flavor() => new FlavorRegistry().AddAws().Get(ComponentType.ArtifactStore, "s3");

    [Fact]
    public void Registers_the_s3_flavor_with_a_typed_schema()
    {
        var flavor = S3Flavor();

        Assert.Equal("aws", flavor.Integration);
        var fields = flavor.Schema.Fields.ToDictionary(f => f.Name);
        Assert.True(fields["path"].Required);
        Assert.True(fields["access_key_id"].Secret);
        Assert.True(fields["secret_access_key"].Secret);
        Assert.True(fields["session_token"].Secret);
        Assert.False(fields["profile"].Secret);
        Assert.Equal("when_required|when_supported", fields["checksum_mode"].TypeName);
        Assert.Equal("boolean", fields["force_path_style"].TypeName);
        Assert.Null(fields["force_path_style"].Default); // decided by endpoint_url
        Assert.Equal("8", fields["part_size_mb"].Default);
        Assert.Contains("endpoint_url", fields["disable_chunked_signing"].Description);
    }

    [Fact]
    public async Task Builds_a_working_store_from_cli_style_values()
    {
        var flavor = (ArtifactStoreFlavor)S3Flavor();
        var template = await server.NewBucketConfigAsync("from-flavor");
        var values = flavor.Schema.Validate(new Dictionary<string, string>
        {
            ["path"] = template.Path,
            ["endpoint_url"] = template.EndpointUrl!,
            ["region"] = "us-east-1",
            ["access_key_id"] = S3Server.AccessKey,
            ["secret_access_key"] = S3Server.SecretKey,
            ["checksum-mode"] = "when_required",
            ["part_size_mb"] = "5",
        }, requireAll: true, "artifact-store flavor 's3'");

        var store = flavor.Create(flavor.Schema.Bind(values), new StrataHome(Path.GetTempPath()));

        var s3 = Assert.IsType<S3ArtifactStore>(store);
        Assert.Equal(5 * 1024 * 1024, s3.Settings.PartSize);
        await store.WriteFileAsync("hello.txt", "hello"u8.ToArray());
        Assert.Equal("hello"u8.ToArray(), await store.ReadFileAsync("hello.txt"));
        s3.Dispose();
    }

    [Fact]
    public void A_missing_path_is_reported_by_the_schema()
    {
        var error = Assert.Throws<StrataConfigException>(() => S3Flavor().Schema.Validate(new Dictionary<string, string>(), requireAll: true, "artifact-store flavor 's3'"));
        Assert.Contains("--path", error.Message);
    }

    [Theory]
    [InlineData("bucket/prefix", "s3://bucket")]
    [InlineData("s3://Bad_Bucket/x", "bucket name")]
    [InlineData("s3://ok-bucket/../x", "prefix")]
    public void Bad_paths_name_the_fix(string path, string expected)
    {
        var error = Assert.Throws<StrataConfigException>(() => S3ClientFactory.TransferSettings(new S3ArtifactStoreConfig { Path = path }));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Bad_transfer_settings_and_half_credentials_name_the_fix()
    {
        Assert.Contains("part_size_mb", Assert.Throws<StrataConfigException>(() =>
            new S3ArtifactStore(new S3ArtifactStoreConfig { Path = "s3://bucket", PartSizeMb = 1 })).Message);
        Assert.Contains("max_concurrency", Assert.Throws<StrataConfigException>(() =>
            new S3ArtifactStore(new S3ArtifactStoreConfig { Path = "s3://bucket", MaxConcurrency = 0 })).Message);
        Assert.Contains("secret_access_key", Assert.Throws<StrataConfigException>(() =>
            new S3ArtifactStore(new S3ArtifactStoreConfig { Path = "s3://bucket", Region = "us-east-1", AccessKeyId = "AKID" })).Message);
        Assert.Contains("endpoint_url", Assert.Throws<StrataConfigException>(() =>
            new S3ArtifactStore(new S3ArtifactStoreConfig { Path = "s3://bucket", Region = "us-east-1", EndpointUrl = "ftp://x", AccessKeyId = "a", SecretAccessKey = "b" })).Message);
        Assert.Contains("region", Assert.Throws<StrataConfigException>(() =>
            new S3ArtifactStore(new S3ArtifactStoreConfig { Path = "s3://bucket", Region = "Not A Region", AccessKeyId = "a", SecretAccessKey = "b" })).Message);
    }

    [Fact]
    public void Defaults_follow_the_endpoint()
    {
        var aws = S3ClientFactory.TransferSettings(new S3ArtifactStoreConfig { Path = "s3://bucket/p" });
        var compatible = S3ClientFactory.TransferSettings(new S3ArtifactStoreConfig { Path = "s3://bucket/p", EndpointUrl = "http://127.0.0.1:9000" });
        var explicitChunked = S3ClientFactory.TransferSettings(new S3ArtifactStoreConfig { Path = "s3://bucket/p", EndpointUrl = "http://127.0.0.1:9000", DisableChunkedSigning = false });

        Assert.True(aws.UseChunkEncoding);
        Assert.False(compatible.UseChunkEncoding);
        Assert.True(explicitChunked.UseChunkEncoding);

        using var awsClient = S3ClientFactory.Create(new S3ArtifactStoreConfig { Path = "s3://bucket", Region = "eu-west-2", AccessKeyId = "a", SecretAccessKey = "b" });
        using var compatibleClient = S3ClientFactory.Create(new S3ArtifactStoreConfig { Path = "s3://bucket", EndpointUrl = "http://127.0.0.1:9000", AccessKeyId = "a", SecretAccessKey = "b" });
        var awsConfig = (Amazon.S3.AmazonS3Config)awsClient.Config;
        var compatibleConfig = (Amazon.S3.AmazonS3Config)compatibleClient.Config;
        Assert.False(awsConfig.ForcePathStyle);
        Assert.Equal(Amazon.Runtime.RequestChecksumCalculation.WHEN_SUPPORTED, awsConfig.RequestChecksumCalculation);
        Assert.Equal("eu-west-2", awsConfig.RegionEndpoint.SystemName);
        Assert.True(compatibleConfig.ForcePathStyle);
        Assert.Equal(Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED, compatibleConfig.RequestChecksumCalculation);
        Assert.Equal(Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED, compatibleConfig.ResponseChecksumValidation);
    }
}
