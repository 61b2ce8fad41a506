using Microsoft.ML;

namespace Strata.ML;

/// <summary>A trained ML.NET model with the schema of the data it was trained on, so steps can pass models.</summary>
/// <param name="Transformer">The fitted model, e.g. what <c>pipeline.Fit(data)</c> returns.</param>
/// <param name="InputSchema">The schema of the data the model takes, e.g. <c>data.Schema</c>.</param>
public sealed record MLModel(ITransformer Transformer, DataViewSchema InputSchema);
