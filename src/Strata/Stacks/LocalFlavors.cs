using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Strata.Stacks;

public sealed class LocalOrchestratorConfig
{
    [Description("How many steps run at once; 0 means one per processor.")]
    [Range(0, int.MaxValue)]
    public int MaxParallelism { get; set; }
}

/// <summary>Runs the pipeline on this machine, independent steps concurrently.</summary>
internal sealed class LocalOrchestratorFlavor : OrchestratorFlavor
{
    public override string Name => "local";
    public override string Description => "Runs pipelines on this machine; independent steps run concurrently.";
    public override Type ConfigType => typeof(LocalOrchestratorConfig);
}

public sealed class LocalArtifactStoreConfig
{
    [Description("Root directory of the artifacts; default: 'artifacts' in the Strata home.")]
    public string? Path { get; set; }

    [Description("Whether the root is on a filesystem that other machines (e.g. cluster nodes) mount at the same path.")]
    public bool Shared { get; set; }
}

internal sealed class LocalArtifactStoreFlavor : ArtifactStoreFlavor
{
    public override string Name => "local";
    public override string Description => "Artifacts in a directory on this machine, written atomically.";
    public override Type ConfigType => typeof(LocalArtifactStoreConfig);

    public override ArtifactStore Create(object config, StrataHome home)
    {
        var c = (LocalArtifactStoreConfig)config;
        return new LocalArtifactStore(string.IsNullOrWhiteSpace(c.Path) ? home.ArtifactsPath : c.Path) { Shared = c.Shared };
    }
}
