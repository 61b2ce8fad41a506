namespace Strata.Postgres;

/// <summary>Makes <c>postgresql://</c> and <c>postgres://</c> store URLs (STRATA_STORE_URL) open a PostgreSQL store.</summary>
public static class PostgresMetadataStoreRegistration
{
    public static void Register()
    {
        MetadataStores.RegisterScheme("postgresql", OpenAsync);
        MetadataStores.RegisterScheme("postgres", OpenAsync);
    }

    private static async Task<IMetadataStore> OpenAsync(string url, CancellationToken cancellationToken) =>
        await PostgresMetadataStore.OpenAsync(url, cancellationToken).ConfigureAwait(false);
}
