using Npgsql;
using Strata.Tests.Store;

namespace Strata.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class PostgresMetadataStoreTests(PostgresServer server) : MetadataStoreConformanceTests
{
    private string? _database;

    protected override async Task<IMetadataStore> CreateStoreAsync()
    {
        _database = await server.CreateDatabaseAsync();
        return await PostgresMetadataStore.OpenAsync(server.UrlFor(_database));
    }

    protected override async Task<IMetadataStore> OpenAgainAsync() => await PostgresMetadataStore.OpenAsync(server.UrlFor(_database!));

    protected override Task CleanupAsync() => _database is null ? Task.CompletedTask : server.DropDatabaseAsync(_database);

    private async Task<long> ScalarAsync(string database, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresMetadataStore.ParseUrl(server.UrlFor(database)).ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private async Task ExecuteAsync(string database, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresMetadataStore.ParseUrl(server.UrlFor(database)).ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Stores_opened_in_parallel_on_a_new_database_migrate_it_once()
    {
        var database = await server.CreateDatabaseAsync();
        try
        {
            var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => PostgresMetadataStore.OpenAsync(server.UrlFor(database)))));
            foreach (var store in stores) await store.DisposeAsync();
            var latest = await ScalarAsync(database, "SELECT MAX(version) FROM schema_version");
            Assert.True(latest >= 1);
            Assert.Equal(latest, await ScalarAsync(database, "SELECT COUNT(*) FROM schema_version"));
        }
        finally
        {
            await server.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_store_written_by_a_newer_Strata_is_refused()
    {
        var latest = await ScalarAsync(_database!, "SELECT MAX(version) FROM schema_version");
        await ExecuteAsync(_database!, $"INSERT INTO schema_version (version) VALUES ({latest + 1})");

        var e = await Assert.ThrowsAsync<StoreException>(() => PostgresMetadataStore.OpenAsync(server.UrlFor(_database!)));
        Assert.Contains("newer", e.Message);
    }

    [Fact]
    public async Task Reopening_a_store_keeps_its_data()
    {
        await Store.SetSettingAsync("active_stack", "dev");
        await using var reopened = await OpenAgainAsync();
        Assert.Equal("dev", await reopened.GetSettingAsync("active_stack"));
    }

    [Fact]
    public async Task A_registered_postgresql_url_opens_a_store_whose_location_hides_the_password()
    {
        PostgresMetadataStoreRegistration.Register();
        var url = WithPassword(server.UrlFor(_database!), out var password);

        foreach (var scheme in new[] { "postgresql", "postgres" })
        {
            await using var store = await MetadataStores.OpenUrlAsync(scheme + url[url.IndexOf(':')..]);
            Assert.DoesNotContain(password, store.Location);
            Assert.Contains(_database!, store.Location);
            await store.SetSettingAsync("via", scheme);
            Assert.Equal(scheme, await Store.GetSettingAsync("via"));
        }
    }

    [Fact]
    public async Task An_unreachable_server_is_a_store_error_without_the_password()
    {
        var e = await Assert.ThrowsAsync<StoreException>(() => PostgresMetadataStore.OpenAsync("postgresql://strata:s3cret@127.0.0.1:1/strata?Timeout=2"));
        Assert.Contains("127.0.0.1:1", e.Message);
        Assert.DoesNotContain("s3cret", e.Message);
    }

    [Fact]
    public void Urls_become_npgsql_connection_strings()
    {
        var (connectionString, location) = PostgresMetadataStore.ParseUrl("postgres://me:p%40ss%3Aword@db.example.com:6543/ml%20meta?sslmode=verify-full&application_name=strata");
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Assert.Equal(("me", "p@ss:word", "db.example.com", 6543, "ml meta", SslMode.VerifyFull, "strata"),
            (builder.Username, builder.Password, builder.Host, builder.Port, builder.Database, builder.SslMode, builder.ApplicationName));
        Assert.Equal("postgresql://me@db.example.com:6543/ml meta", location);

        var defaults = new NpgsqlConnectionStringBuilder(PostgresMetadataStore.ParseUrl("postgresql://db/strata").ConnectionString);
        Assert.Equal(("db", 5432, "strata"), (defaults.Host, defaults.Port, defaults.Database));

        var e = Assert.Throws<StoreException>(() => PostgresMetadataStore.ParseUrl("postgresql://me:secret@db/strata?no_such_option=1"));
        Assert.Contains("no_such_option", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    /// <summary>The URL with a password: its own, or a made-up one the test server (trust auth) does not check.</summary>
    private static string WithPassword(string url, out string password)
    {
        var uri = new Uri(url);
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo.Length == 2)
        {
            password = Uri.UnescapeDataString(userInfo[1]);
            return url;
        }
        password = "not-checked-by-trust";
        return url.Replace($"//{uri.UserInfo}@", $"//{uri.UserInfo}:{password}@", StringComparison.Ordinal);
    }
}
