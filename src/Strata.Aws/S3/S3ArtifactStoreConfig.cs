using System.ComponentModel;

namespace Strata.Aws;

/// <summary>How the S3 client protects request and response bodies with the newer flexible checksums.</summary>
public enum S3ChecksumMode
{
    /// <summary>Only where an operation requires a checksum. What most S3-compatible stores need.</summary>
    WhenRequired,

    /// <summary>On every operation that supports one (the AWS SDK's default; right for AWS S3 itself).</summary>
    WhenSupported,
}

/// <summary>
/// Config of the <c>s3</c> artifact store. Credentials come from, in order: the explicit keys (give them as secret
/// references, <c>{{name.key}}</c>), the named profile, or the standard AWS chain (environment variables, the shared
/// credentials and config files, container and instance roles).
/// </summary>
/// <remarks>
/// Defaults that depend on <see cref="EndpointUrl"/>: without it (AWS S3) the client uses virtual-hosted addressing,
/// flexible checksums when supported and chunked payload signing, as the AWS SDK does. With a custom endpoint (MinIO,
/// Ceph, R2, s3rver, ...) it uses path-style addressing, checksums only when required and unchunked payload signing,
/// because many S3-compatible stores mishandle the newer SDK behaviour — some store <c>aws-chunked</c> bodies verbatim,
/// i.e. corrupt objects. Each of the three can be set explicitly either way.
/// </remarks>
public sealed class S3ArtifactStoreConfig
{
    [Description("Root of the artifacts: s3://bucket or s3://bucket/prefix.")]
    public required string Path { get; set; }

    [Description("AWS region of the bucket; default: from the environment or profile (AWS_REGION), else us-east-1.")]
    public string? Region { get; set; }

    [Description("Endpoint of an S3-compatible store (e.g. http://127.0.0.1:9000); default: AWS S3.")]
    public string? EndpointUrl { get; set; }

    [Description("Path-style addressing (endpoint/bucket/key) instead of virtual-hosted (bucket.endpoint/key); default: true with endpoint_url, else false.")]
    public bool? ForcePathStyle { get; set; }

    [Description("When the client adds flexible checksums to requests and validates them on responses; default: when_required with endpoint_url, else " +
        "when_supported.")]
    public S3ChecksumMode? ChecksumMode { get; set; }

    [Description("Send uploads with a signed body hash instead of aws-chunked payload signing; default: true with endpoint_url, else false.")]
    public bool? DisableChunkedSigning { get; set; }

    [Description("Access key id; give it as a secret reference such as {{aws.access_key_id}}.")]
    [Secret]
    public string? AccessKeyId { get; set; }

    [Description("Secret access key; give it as a secret reference such as {{aws.secret_access_key}}.")]
    [Secret]
    public string? SecretAccessKey { get; set; }

    [Description("Session token of temporary credentials (with access_key_id and secret_access_key).")]
    [Secret]
    public string? SessionToken { get; set; }

    [Description("Named profile of the shared AWS config and credentials files.")]
    public string? Profile { get; set; }

    [Description("Part size in MiB for multipart uploads and ranged downloads; larger files use several parts (min 5).")]
    public int PartSizeMb { get; set; } = 8;

    [Description("How many parts or files move at once.")]
    public int MaxConcurrency { get; set; } = 4;
}
