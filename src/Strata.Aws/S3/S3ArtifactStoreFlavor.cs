namespace Strata.Aws;

/// <summary>The <c>s3</c> artifact store flavor.</summary>
internal sealed class S3ArtifactStoreFlavor : ArtifactStoreFlavor
{
    public override string Name => "s3";
    public override string Integration => "aws";
    public override string Description =>
        "Artifacts in an S3 bucket or S3-compatible store: published atomically behind a commit marker, multipart uploads, ranged parallel downloads, " +
        "verified by hash on read.";
    public override Type ConfigType => typeof(S3ArtifactStoreConfig);

    public override ArtifactStore Create(object config, StrataHome home) => new S3ArtifactStore((S3ArtifactStoreConfig)config);
}
