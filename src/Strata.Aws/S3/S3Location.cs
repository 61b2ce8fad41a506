using System.Text.RegularExpressions;

namespace Strata.Aws;

/// <summary>A bucket and a key prefix, parsed from <c>s3://bucket</c> or <c>s3://bucket/prefix</c>.</summary>
internal sealed partial record S3Location(string Bucket, string Prefix)
{
    public static S3Location Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        const string scheme = "s3://";
        var p = path.Trim();
        if (!p.StartsWith(scheme, StringComparison.Ordinal))
            throw new StrataConfigException($"The s3 artifact store path '{path}' must look like s3://bucket or s3://bucket/prefix.");
        var rest = p[scheme.Length..].TrimEnd('/');
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (!BucketName().IsMatch(bucket) || bucket.Contains("..", StringComparison.Ordinal))
            throw new StrataConfigException(
                $"'{bucket}' in '{path}' is not an S3 bucket name: 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a " +
                "letter or digit.");
        if (prefix.Length > 0)
        {
            try { prefix = ArtifactPath.Normalize(prefix); }
            catch (ArtifactException e) { throw new StrataConfigException($"The prefix in '{path}' is not usable: {e.Message}", e); }
        }
        return new S3Location(bucket, prefix);
    }

    public string Root => Prefix.Length == 0 ? $"s3://{Bucket}" : $"s3://{Bucket}/{Prefix}";

    /// <summary>The object key of a normalized store-relative path.</summary>
    public string Key(string relative) => Prefix.Length == 0 ? relative : Prefix + "/" + relative;

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
