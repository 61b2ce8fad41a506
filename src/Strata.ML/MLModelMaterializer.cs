using Microsoft.ML;

namespace Strata.ML;

/// <summary>An <see cref="MLModel"/> as ML.NET's own <c>model.zip</c> (transformer and input schema).</summary>
/// <remarks>
/// Loading needs the assemblies of the model's components (e.g. Microsoft.ML.FastTree) referenced by the
/// application, as ML.NET itself does.
/// </remarks>
internal sealed class MLModelMaterializer : Materializer<MLModel>
{
    internal const string FileName = "model.zip";

    public override string Name => "strata.mlnet_model";

    protected override async Task SaveAsync(MLModel value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        await using var stream = writer.CreateFile(FileName);
        new MLContext().Model.Save(value.Transformer, value.InputSchema, stream);
    }

    protected override async Task<MLModel> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        await using var stream = reader.OpenFile(FileName);
        var transformer = new MLContext().Model.Load(stream, out var schema);
        return new MLModel(transformer, schema
            ?? throw new InvalidDataException($"{FileName} in {reader.LocalDirectory} has no input schema; load it as an ITransformer."));
    }
}
