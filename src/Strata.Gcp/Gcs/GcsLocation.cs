using System.Text.RegularExpressions;

namespace Strata.Gcp;

/// <summary>Parses <c>gs://bucket</c> or <c>gs://bucket/prefix</c>.</summary>
internal static partial class GcsLocation
{
    public static ObjectStoreLocation Parse(string path) =>
        ObjectStoreLocation.Parse(path, "gs://", "gcs",
            bucket => BucketName().IsMatch(bucket) && !bucket.Contains("..", StringComparison.Ordinal) && !bucket.StartsWith("goog", StringComparison.Ordinal),
            "a Cloud Storage bucket name: 3-63 characters of lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit, " +
            "not starting with 'goog'.");

    // 3-63 characters; names with dots may be up to 222 in all (each dot-separated part at most 63).
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")]
    private static partial Regex BucketName();
}
