using Amazon.Runtime;
using Amazon.S3;

namespace Strata.Aws;

/// <summary>How the store moves data: where, part size, parallelism, and whether uploads use aws-chunked signing.</summary>
internal sealed record S3TransferSettings(ObjectStoreLocation Location, long PartSize, int MaxConcurrency, bool UseChunkEncoding);

/// <summary>Builds the S3 client of an <see cref="S3ArtifactStoreConfig"/>, applying the documented defaults.</summary>
internal static class S3ClientFactory
{
    public const int MinPartSizeMb = 5;    // S3's minimum part size (all parts but the last)
    public const int MaxPartSizeMb = 5120; // S3's maximum part size

    public static AmazonS3Client Create(S3ArtifactStoreConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _ = TransferSettings(config); // validates the rest before credentials are looked up
        var custom = !string.IsNullOrWhiteSpace(config.EndpointUrl);
        var region = AwsCredentialSource.CheckRegion(AwsCredentialSource.ResolveRegion(config.Region, config.Profile));
        var checksum = config.ChecksumMode ?? (custom ? S3ChecksumMode.WhenRequired : S3ChecksumMode.WhenSupported);
        var s3Config = new AmazonS3Config
        {
            ForcePathStyle = config.ForcePathStyle ?? custom,
            RequestChecksumCalculation = checksum == S3ChecksumMode.WhenRequired
                ? RequestChecksumCalculation.WHEN_REQUIRED
                : RequestChecksumCalculation.WHEN_SUPPORTED,
            ResponseChecksumValidation = checksum == S3ChecksumMode.WhenRequired
                ? ResponseChecksumValidation.WHEN_REQUIRED
                : ResponseChecksumValidation.WHEN_SUPPORTED,
        };
        if (custom)
        {
            if (!Uri.TryCreate(config.EndpointUrl!.Trim(), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                throw new StrataConfigException($"endpoint_url '{config.EndpointUrl}' is not an http:// or https:// URL.");
            s3Config.ServiceURL = endpoint.ToString();
            s3Config.AuthenticationRegion = region;
        }
        else
        {
            s3Config.RegionEndpoint = AwsCredentialSource.Endpoint(region);
        }
        var credentials = AwsCredentialSource.Resolve(config.AccessKeyId, config.SecretAccessKey, config.SessionToken, config.Profile);
        return new AmazonS3Client(credentials, s3Config);
    }

    public static S3TransferSettings TransferSettings(S3ArtifactStoreConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PartSizeMb is < MinPartSizeMb or > MaxPartSizeMb)
            throw new StrataConfigException($"part_size_mb must be between {MinPartSizeMb} and {MaxPartSizeMb} (S3's part size limits); it is " +
                $"{config.PartSizeMb}.");
        if (config.MaxConcurrency is < 1 or > 64)
            throw new StrataConfigException($"max_concurrency must be between 1 and 64; it is {config.MaxConcurrency}.");
        var custom = !string.IsNullOrWhiteSpace(config.EndpointUrl);
        var disableChunked = config.DisableChunkedSigning ?? custom;
        return new S3TransferSettings(S3Location.Parse(config.Path), config.PartSizeMb * 1024L * 1024L, config.MaxConcurrency,
            UseChunkEncoding: !disableChunked);
    }
}
