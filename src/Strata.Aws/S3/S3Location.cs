using System.Text.RegularExpressions;

namespace Strata.Aws;

/// <summary>Parses <c>s3://bucket</c> or <c>s3://bucket/prefix</c>.</summary>
internal static partial class S3Location
{
    public static ObjectStoreLocation Parse(string path) =>
        ObjectStoreLocation.Parse(path, "s3://", "s3", bucket => BucketName().IsMatch(bucket) && !bucket.Contains("..", StringComparison.Ordinal),
            "an S3 bucket name: 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit.");

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
