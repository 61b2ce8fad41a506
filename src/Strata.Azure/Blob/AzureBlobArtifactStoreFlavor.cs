namespace Strata.Azure;

/// <summary>The <c>azure</c> artifact store flavor.</summary>
internal sealed class AzureBlobArtifactStoreFlavor : ArtifactStoreFlavor
{
    public override string Name => "azure";
    public override string Integration => "azure";
    public override string Description =>
        "Artifacts in an Azure Blob Storage container: published atomically behind a commit marker, parallel block uploads, ranged parallel " +
        "downloads, verified by hash on read.";
    public override Type ConfigType => typeof(AzureBlobArtifactStoreConfig);

    public override ArtifactStore Create(object config, StrataHome home) => new AzureBlobArtifactStore((AzureBlobArtifactStoreConfig)config);
}
