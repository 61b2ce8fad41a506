using System.Text.RegularExpressions;

namespace Strata.Azure;

/// <summary>Parses <c>az://container</c> or <c>az://container/prefix</c>.</summary>
internal static partial class AzureBlobLocation
{
    public static ObjectStoreLocation Parse(string path) =>
        ObjectStoreLocation.Parse(path, "az://", "azure", bucket => ContainerName().IsMatch(bucket) && !bucket.Contains("--", StringComparison.Ordinal),
            "an Azure Blob Storage container name: 3-63 characters of lowercase letters, digits and single '-', starting and ending with a letter or " +
            "digit.");

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
