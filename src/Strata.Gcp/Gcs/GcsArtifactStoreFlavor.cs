namespace Strata.Gcp;

/// <summary>The <c>gcs</c> artifact store flavor.</summary>
internal sealed class GcsArtifactStoreFlavor : ArtifactStoreFlavor
{
    public override string Name => "gcs";
    public override string Integration => "gcp";
    public override string Description =>
        "Artifacts in a Google Cloud Storage bucket: published atomically behind a commit marker, resumable uploads, ranged parallel downloads, " +
        "verified by hash on read.";
    public override Type ConfigType => typeof(GcsArtifactStoreConfig);

    public override ArtifactStore Create(object config, StrataHome home) => new GcsArtifactStore((GcsArtifactStoreConfig)config);
}
