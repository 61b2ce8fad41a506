using System.Text.RegularExpressions;

namespace Strata.Gcp;

/// <summary>A bucket and an object name prefix, parsed from <c>gs://bucket</c> or <c>gs://bucket/prefix</c>.</summary>
internal sealed partial record GcsLocation(string Bucket, string Prefix)
{
    public static GcsLocation Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        const string scheme = "gs://";
        var p = path.Trim();
        if (!p.StartsWith(scheme, StringComparison.Ordinal))
            throw new StrataConfigException($"The gcs artifact store path '{path}' must look like gs://bucket or gs://bucket/prefix.");
        var rest = p[scheme.Length..].TrimEnd('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (!BucketName().IsMatch(bucket) || bucket.Contains("..", StringComparison.Ordinal) || bucket.StartsWith("goog", StringComparison.Ordinal))
            throw new StrataConfigException(
                $"'{bucket}' in '{path}' is not a Cloud Storage bucket name: 3-63 characters of lowercase letters, digits, '-', '_' and '.', starting and " +
                "ending with a letter or digit, not starting with 'goog'.");
        if (prefix.Length > 0)
        {
            try { prefix = ArtifactPath.Normalize(prefix); }
            catch (ArtifactException e) { throw new StrataConfigException($"The prefix in '{path}' is not usable: {e.Message}", e); }
        }
        return new GcsLocation(bucket, prefix);
    }

    public string Root => Prefix.Length == 0 ? $"gs://{Bucket}" : $"gs://{Bucket}/{Prefix}";

    /// <summary>The object name of a normalized store-relative path.</summary>
    public string Name(string relative) => Prefix.Length == 0 ? relative : Prefix + "/" + relative;

    // 3-63 characters; names with dots may be up to 222 in all (each dot-separated part at most 63).
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")]
    private static partial Regex BucketName();
}
