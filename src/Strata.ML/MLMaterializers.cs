namespace Strata.ML;

/// <summary>Registers the ML.NET materializers.</summary>
public static class MLMaterializers
{
    /// <summary>
    /// Adds materializers for <see cref="MLModel"/> and <see cref="Microsoft.ML.ITransformer"/>. Call it at
    /// start-up, e.g. <c>MaterializerRegistry.Default.AddMLNet()</c>, so that steps run elsewhere find them too.
    /// </summary>
    public static MaterializerRegistry AddMLNet(this MaterializerRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.Register(new MLTransformerMaterializer()).Register(new MLModelMaterializer());
    }
}
