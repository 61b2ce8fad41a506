using System.Text.RegularExpressions;

namespace Strata.Azure;

/// <summary>Parses <c>az://container</c> or <c>az://container/prefix</c>.</summary>
internal static partial class AzureBlobLocation
{
    private const string Shape = "az://container or az://container/prefix (the account is account_name, endpoint_url or connection_string)";

    public static ObjectStoreLocation Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        // A blob URL, as the portal shows it, says what to write instead.
        if (Uri.TryCreate(path.Trim(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            && url.Host.Contains(".blob.", StringComparison.Ordinal))
        {
            var rest = url.AbsolutePath.Trim('/');
            var container = rest.Length == 0 ? "CONTAINER" : rest;
            throw new StrataConfigException($"The azure artifact store path '{path}' is a blob URL: write it as az://{container} " +
                $"with account_name={url.Host.Split('.')[0]}.");
        }
        if (!path.Trim().StartsWith("az://", StringComparison.Ordinal))
            throw new StrataConfigException($"The azure artifact store path '{path}' must look like {Shape}.");
        return ObjectStoreLocation.Parse(path, "az://", "azure", bucket => ContainerName().IsMatch(bucket) && !bucket.Contains("--", StringComparison.Ordinal),
            "an Azure Blob Storage container name: 3-63 characters of lowercase letters, digits and single '-', starting and ending with a letter or " +
            "digit.");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
