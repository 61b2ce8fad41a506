namespace Strata.Artifacts;

/// <summary>A bucket and a key prefix, parsed from <c>scheme://bucket</c> or <c>scheme://bucket/prefix</c>.</summary>
/// <param name="Scheme">The URI scheme with its separator, such as <c>s3://</c>.</param>
/// <param name="Bucket">The bucket.</param>
/// <param name="Prefix">The normalized key prefix, empty for the bucket's root.</param>
public sealed record ObjectStoreLocation(string Scheme, string Bucket, string Prefix)
{
    /// <summary>Parses <paramref name="path"/>.</summary>
    /// <param name="path">The store path, <c>scheme://bucket</c> or <c>scheme://bucket/prefix</c>.</param>
    /// <param name="scheme">The scheme with its separator, such as <c>gs://</c>.</param>
    /// <param name="flavor">The artifact store flavor, for messages.</param>
    /// <param name="isBucketName">Whether a string is a valid bucket name on this store.</param>
    /// <param name="bucketRule">What a bucket name looks like, completing "'x' in 'path' is not …".</param>
    /// <exception cref="StrataConfigException">The path is not of that shape, or the bucket or prefix is not usable.</exception>
    public static ObjectStoreLocation Parse(string path, string scheme, string flavor, Func<string, bool> isBucketName, string bucketRule)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(isBucketName);
        var p = path.Trim();
        if (!p.StartsWith(scheme, StringComparison.Ordinal))
            throw new StrataConfigException($"The {flavor} artifact store path '{path}' must look like {scheme}bucket or {scheme}bucket/prefix.");
        var rest = p[scheme.Length..].TrimEnd('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (!isBucketName(bucket))
            throw new StrataConfigException($"'{bucket}' in '{path}' is not {bucketRule}");
        if (prefix.Length > 0)
        {
            try { prefix = ArtifactPath.Normalize(prefix); }
            catch (ArtifactException e) { throw new StrataConfigException($"The prefix in '{path}' is not usable: {e.Message}", e); }
        }
        return new ObjectStoreLocation(scheme, bucket, prefix);
    }

    /// <summary>The store's root URI.</summary>
    public string Root => Prefix.Length == 0 ? $"{Scheme}{Bucket}" : $"{Scheme}{Bucket}/{Prefix}";

    /// <summary>The object key of a normalized store-relative path.</summary>
    public string Key(string relative) => Prefix.Length == 0 ? relative : Prefix + "/" + relative;

    /// <summary>The URI of an object key, for messages.</summary>
    public string UriOfKey(string key) => $"{Scheme}{Bucket}/{key}";
}
