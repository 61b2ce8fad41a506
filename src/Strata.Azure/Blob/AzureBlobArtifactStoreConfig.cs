using System.ComponentModel;

namespace Strata.Azure;

/// <summary>
/// Config of the <c>azure</c> artifact store. The account and its credentials come from one of: <see cref="ConnectionString"/>
/// alone; <see cref="AccountName"/> (or <see cref="EndpointUrl"/>) with <see cref="AccountKey"/> or <see cref="SasToken"/>;
/// or <see cref="AccountName"/> (or <see cref="EndpointUrl"/>) alone, signed with the key or SAS in the environment variable
/// <c>AZURE_STORAGE_KEY</c> or <c>AZURE_STORAGE_SAS_TOKEN</c> if set, else signed in through <c>DefaultAzureCredential</c>
/// (environment variables of a service principal, workload or managed identity, the Azure CLI's login, ...).
/// Give secrets as secret references, <c>{{name.key}}</c>.
/// </summary>
public sealed class AzureBlobArtifactStoreConfig
{
    [Description("Root of the artifacts: az://container or az://container/prefix.")]
    public required string Path { get; set; }

    [Description("Storage account name; the endpoint is https://<account_name>.blob.core.windows.net unless endpoint_url is given.")]
    public string? AccountName { get; set; }

    [Description("Blob service endpoint (e.g. Azurite's http://127.0.0.1:10000/devstoreaccount1, or a sovereign cloud's); an IP endpoint " +
        "without a path gets /<account_name> appended.")]
    public string? EndpointUrl { get; set; }

    [Description("A storage connection string (account, endpoint and credentials in one); give it as a secret reference such as " +
        "{{azure.connection_string}}, and alone.")]
    [Secret]
    public string? ConnectionString { get; set; }

    [Description("The storage account's access key; give it as a secret reference such as {{azure.account_key}}.")]
    [Secret]
    public string? AccountKey { get; set; }

    [Description("A shared access signature (container or account SAS) with read, write, delete and list; give it as a secret reference.")]
    [Secret]
    public string? SasToken { get; set; }

    [Description("Block size in MiB of uploads and range size of parallel downloads; larger files move in several blocks.")]
    public int PartSizeMb { get; set; } = 8;

    [Description("How many files, blocks or download ranges move at once.")]
    public int MaxConcurrency { get; set; } = 4;

    [Description("How many times a request answered with 408, 429, a 5xx or a broken connection is retried (with exponential backoff).")]
    public int MaxRetries { get; set; } = 5;
}
