using Microsoft.ML;
using Strata.Tests.Support;

namespace Strata.ML.Tests;

public sealed class MLModelMaterializerTests : IDisposable
{
    private readonly TempDirectory _temp = new("strata-ml");
    private readonly LocalArtifactStore _store;
    private readonly MaterializerRegistry _registry = new MaterializerRegistry().AddMLNet();
    private readonly MLContext _ml = new(seed: 1);

    public MLModelMaterializerTests() => _store = new LocalArtifactStore(_temp.Path);

    public void Dispose() => _temp.Dispose();

    public sealed class Row
    {
        public float Size { get; set; }
        public float Age { get; set; }
        public bool Label { get; set; }
    }

    public sealed class Prediction
    {
        public bool PredictedLabel { get; set; }
        public float Score { get; set; }
        public float Probability { get; set; }
    }

    /// <summary>A few hundred deterministic rows with a mostly linear boundary and some label noise.</summary>
    private IDataView Data()
    {
        var rows = Enumerable.Range(0, 400).Select(i =>
        {
            var size = i % 37 / 37f;
            var age = i * 13 % 41 / 41f;
            return new Row { Size = size * 100, Age = age * 10, Label = (size + age > 1) ^ (i % 17 == 0) };
        });
        return _ml.Data.LoadFromEnumerable(rows.ToList());
    }

    private (ITransformer Model, IDataView Data) Train()
    {
        var data = Data();
        var pipeline = _ml.Transforms.Concatenate("Features", nameof(Row.Size), nameof(Row.Age))
            .Append(_ml.Transforms.NormalizeMinMax("Features"))
            .Append(_ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 50));
        return (pipeline.Fit(data), data);
    }

    private Prediction[] Predict(ITransformer model, IDataView data) =>
        _ml.Data.CreateEnumerable<Prediction>(model.Transform(data), reuseRowObject: false).ToArray();

    private static void AssertSamePredictions(Prediction[] expected, Prediction[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].PredictedLabel, actual[i].PredictedLabel);
            Assert.Equal(expected[i].Score, actual[i].Score);
            Assert.Equal(expected[i].Probability, actual[i].Probability);
        }
    }

    private async Task<object> RoundTripAsync(object value, Type type, string expectedMaterializer)
    {
        var materializer = _registry.Get(type);
        Assert.Equal(expectedMaterializer, materializer.Name);
        var content = await _store.WriteArtifactAsync("model", (writer, ct) => materializer.SaveAsync(value, type, writer, ct));
        Assert.True(content.Size > 0);

        await using var reader = await _store.OpenArtifactAsync("model");
        Assert.Equal(["model.zip"], reader.Files);
        return await _registry.GetByName(materializer.Name).LoadAsync(type, reader, CancellationToken.None);
    }

    [Fact]
    public async Task A_loaded_model_predicts_what_the_trained_one_did()
    {
        var (model, data) = Train();
        var expected = Predict(model, data);
        Assert.Contains(expected, p => p.PredictedLabel);
        Assert.Contains(expected, p => !p.PredictedLabel);

        var loaded = Assert.IsType<MLModel>(await RoundTripAsync(new MLModel(model, data.Schema), typeof(MLModel), "strata.mlnet_model"));

        Assert.Equal(
            data.Schema.Select(c => (c.Name, c.Type.ToString())),
            loaded.InputSchema.Select(c => (c.Name, c.Type.ToString())));
        AssertSamePredictions(expected, Predict(loaded.Transformer, data));
    }

    [Fact]
    public async Task A_bare_transformer_round_trips_without_a_schema()
    {
        var (model, data) = Train();

        var loaded = Assert.IsAssignableFrom<ITransformer>(await RoundTripAsync(model, typeof(ITransformer), "strata.mlnet_transformer"));

        AssertSamePredictions(Predict(model, data), Predict(loaded, data));
    }

    [Fact]
    public void Leaves_concrete_transformer_types_alone()
    {
        // ML.NET loads any model back as a general chain, so a concrete type could be saved but not loaded.
        var (model, _) = Train();

        Assert.DoesNotContain("mlnet", _registry.Find(model.GetType())?.Name ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void Without_AddMLNet_no_materializer_claims_models()
    {
        Assert.NotEqual("strata.mlnet_model", new MaterializerRegistry().Find(typeof(MLModel))?.Name);
        Assert.Null(new MaterializerRegistry().Find(typeof(ITransformer)));
    }
}
