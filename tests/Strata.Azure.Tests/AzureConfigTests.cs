namespace Strata.Azure.Tests;

/// <summary>Paths, credentials and transfer settings of the azure store: what is refused, with which message, before any request.</summary>
public sealed class AzureConfigTests
{
    private const string Key = AzuriteServer.AccountKey;

    [Theory]
    [InlineData("az://container", "container", "")]
    [InlineData("az://my-container/a/b/", "my-container", "a/b")]
    [InlineData("  az://abc/p  ", "abc", "p")]
    public void Paths_parse_into_container_and_prefix(string path, string container, string prefix)
    {
        var location = AzureBlobLocation.Parse(path);
        Assert.Equal((container, prefix), (location.Bucket, location.Prefix));
    }

    [Theory]
    [InlineData("https://acct.blob.core.windows.net/c/p", "write it as az://c/p with account_name=acct.")]
    [InlineData("https://acct.blob.core.windows.net/", "write it as az://CONTAINER with account_name=acct.")]
    [InlineData("c/p", "must look like az://container or az://container/prefix")]
    [InlineData("abfss://c@acct.dfs.core.windows.net/x", "must look like az://container")]
    [InlineData("az://Container", "container name")]
    [InlineData("az://ab", "container name")]
    [InlineData("az://a--b", "container name")]
    [InlineData("az://my_container", "container name")]
    [InlineData("az://ok-container/../x", "prefix")]
    public void Bad_paths_are_one_line_config_errors_naming_the_fix(string path, string expected)
    {
        var error = Assert.Throws<StrataConfigException>(() => new AzureBlobArtifactStore(new AzureBlobArtifactStoreConfig
        {
            Path = path,
            AccountName = "acct",
            AccountKey = Key,
        }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    public static TheoryData<AzureBlobArtifactStoreConfig, string> Conflicts => new()
    {
        { new() { Path = "az://c00", ConnectionString = "UseDevelopmentStorage=true", AccountKey = Key }, "give it alone" },
        { new() { Path = "az://c00", ConnectionString = "UseDevelopmentStorage=true", AccountName = "acct" }, "give it alone" },
        { new() { Path = "az://c00", ConnectionString = "UseDevelopmentStorage=true", SasToken = "sv=1" }, "give it alone" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = Key, SasToken = "sv=1" }, "give one of them" },
        { new() { Path = "az://c00", ConnectionString = "not a connection string" }, "connection_string is not a usable" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = "not base64!" }, "account_key is not a storage account key" },
        { new() { Path = "az://c00", AccountName = "Not_An_Account" }, "account_name 'Not_An_Account'" },
        { new() { Path = "az://c00" }, "needs account_name" },
        { new() { Path = "az://c00", EndpointUrl = "https://blob.example.com/", AccountKey = Key }, "account_key needs account_name" },
        { new() { Path = "az://c00", EndpointUrl = "ftp://127.0.0.1/x", AccountName = "acct", AccountKey = Key }, "endpoint_url 'ftp://127.0.0.1/x'" },
        { new() { Path = "az://c00", EndpointUrl = "http://127.0.0.1:10000", AccountName = "acct" }, "only sent over https" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = Key, PartSizeMb = 0 }, "part_size_mb" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = Key, PartSizeMb = 4001 }, "part_size_mb" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = Key, MaxConcurrency = 0 }, "max_concurrency" },
        { new() { Path = "az://c00", AccountName = "acct", AccountKey = Key, MaxRetries = -1 }, "max_retries" },
    };

    [Theory]
    [MemberData(nameof(Conflicts))]
    public void Conflicting_missing_or_unusable_settings_are_one_line_config_errors(AzureBlobArtifactStoreConfig config, string expected)
    {
        var error = Assert.Throws<StrataConfigException>(() => new AzureBlobArtifactStore(config));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("acct", null, "https://acct.blob.core.windows.net/c00")]
    [InlineData("devstoreaccount1", "http://127.0.0.1:10000", "http://127.0.0.1:10000/devstoreaccount1/c00")]
    [InlineData("devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1/c00")]
    [InlineData("acct", "https://acct.blob.core.chinacloudapi.cn/", "https://acct.blob.core.chinacloudapi.cn/c00")]
    public void The_container_url_follows_the_account_and_the_endpoint(string account, string? endpoint, string expected)
    {
        var store = new AzureBlobArtifactStore(new AzureBlobArtifactStoreConfig
        {
            Path = "az://c00/p",
            AccountName = account,
            EndpointUrl = endpoint,
            AccountKey = Key,
        });
        Assert.Equal(new Uri(expected), store.ContainerUri);
        Assert.Equal("az://c00/p/a/b", store.UriOf("a//b"));
    }

    [Fact]
    public void The_development_storage_connection_string_means_azurite_on_its_default_port()
    {
        var store = new AzureBlobArtifactStore(new AzureBlobArtifactStoreConfig { Path = "az://c00", ConnectionString = "UseDevelopmentStorage=true" });
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/c00"), store.ContainerUri);
    }

    [Fact]
    public void Without_a_key_an_https_account_signs_in_through_DefaultAzureCredential_when_first_used()
    {
        var store = new AzureBlobArtifactStore(new AzureBlobArtifactStoreConfig { Path = "az://c00", AccountName = "acct" });
        Assert.Equal("az://c00", store.Root);
    }

    [Fact]
    public void Without_key_or_sas_in_the_config_a_job_signs_with_the_ones_in_its_environment()
    {
        var config = new AzureBlobArtifactStoreConfig { Path = "az://c00", AccountName = "acct", EndpointUrl = "http://127.0.0.1:10000" };
        string? None(string _) => null;

        var withKey = AzureBlobClientFactory.Create(config, null, v => v == AzureBlobClientFactory.KeyVariable ? Key : null);
        var withSas = AzureBlobClientFactory.Create(config, null, v => v == AzureBlobClientFactory.SasVariable ? "?sv=2024-01-01&sig=x" : null);
        var badKey = Assert.Throws<StrataConfigException>(() => AzureBlobClientFactory.Create(config, null, _ => "not base64!"));
        var neither = Assert.Throws<StrataConfigException>(() => AzureBlobClientFactory.Create(config, null, None));

        Assert.True(withKey.CanGenerateSasUri); // signed with the shared key
        Assert.False(withSas.CanGenerateSasUri);
        Assert.Contains("AZURE_STORAGE_KEY is not a storage account key", badKey.Message, StringComparison.Ordinal);
        Assert.Contains("or set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN", neither.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_flavor_is_registered_as_azure_with_its_secrets_marked()
    {
        var flavor = new FlavorRegistry().AddAzure().Get(ComponentType.ArtifactStore, "azure");

        Assert.Equal("azure", flavor.Integration);
        Assert.Equal(typeof(AzureBlobArtifactStoreConfig), flavor.ConfigType);
        var fields = flavor.Schema.Fields.ToDictionary(f => f.Name);
        Assert.True(fields["path"].Required);
        Assert.True(fields["connection_string"].Secret);
        Assert.True(fields["account_key"].Secret);
        Assert.True(fields["sas_token"].Secret);
        Assert.False(fields["account_name"].Secret);
        Assert.False(fields["endpoint_url"].Secret);
        Assert.Equal("8", fields["part_size_mb"].Default);
    }

    [Fact]
    public void Without_the_integration_the_unknown_flavor_error_names_its_package()
    {
        var error = Assert.Throws<StrataConfigException>(() => new FlavorRegistry().Get(ComponentType.ArtifactStore, "azure"));
        Assert.Contains("Strata.Azure package", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddAzure()", error.Message, StringComparison.Ordinal);
    }
}
