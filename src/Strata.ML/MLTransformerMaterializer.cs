using Microsoft.ML;

namespace Strata.ML;

/// <summary>
/// A bare <see cref="ITransformer"/> as ML.NET's <c>model.zip</c>, saved without an input schema.
/// Prefer <see cref="MLModel"/>, which keeps the schema.
/// </summary>
/// <remarks>
/// Only a value declared as <see cref="ITransformer"/> itself: ML.NET loads every model back as a general
/// transformer chain, so a concrete type such as <c>TransformerChain&lt;...&gt;</c> could be saved but never loaded.
/// Declare such step outputs as <see cref="ITransformer"/> or <see cref="MLModel"/>.
/// </remarks>
internal sealed class MLTransformerMaterializer : Materializer<ITransformer>
{
    public override string Name => "strata.mlnet_transformer";

    public override bool CanHandle(Type type) => type == typeof(ITransformer);

    protected override async Task SaveAsync(ITransformer value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        await using var stream = writer.CreateFile(MLModelMaterializer.FileName);
        new MLContext().Model.Save(value, inputSchema: null, stream);
    }

    protected override async Task<ITransformer> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        await using var stream = reader.OpenFile(MLModelMaterializer.FileName);
        return new MLContext().Model.Load(stream, out _);
    }
}
