using Microsoft.ML;
using Microsoft.ML.Data;
using Strata;
using Strata.Artifacts;
using Strata.ML;
using Strata.Stacks;

[assembly: StrataSetup(typeof(Quickstart.QuickstartSetup))]

namespace Quickstart;

/// <summary>
/// Registers what this app's steps need wherever they run (here, in `strata pipeline run`, or in another process): ML.NET's
/// materializers, and the AWS, Google Cloud and Azure flavors, so a job of this app (in the image Strata builds of it) reaches an s3,
/// gcs or azure artifact store.
/// </summary>
public sealed class QuickstartSetup : IStrataSetup
{
    public void Configure(MaterializerRegistry materializers, FlavorRegistry flavors)
    {
        materializers.AddMLNet();
        flavors.AddAws();
        flavors.AddGcp();
        flavors.AddAzure();
    }
}

/// <summary>One loan application: four features and whether it was repaid.</summary>
public sealed class LoanApplication
{
    public float Income { get; set; }
    public float DebtRatio { get; set; }
    public float YearsEmployed { get; set; }
    public float LatePayments { get; set; }
    public bool Label { get; set; }
}

/// <summary>How well the model does on held-out data. A record return: each property is its own stored output.</summary>
public sealed record Metrics(double Accuracy, double Auc, double F1, double LogLoss);

/// <summary>
/// A credit-risk classifier: generate a deterministic dataset, split it, train a FastTree model, evaluate it.
/// `train` runs on the stack's default step operator — on the default stack, `local`, a separate process on this
/// machine; register a Slurm or SageMaker operator and put it first in the stack to train there instead.
/// Everything it needs arrives as artifacts, and its model goes back the same way.
/// </summary>
public static class CreditPipeline
{
    [Step]
    public static LoanApplication[] GenerateData(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new LoanApplication[rows];
        for (var i = 0; i < rows; i++)
        {
            var income = (float)(20 + random.NextDouble() * 130);
            var debt = (float)random.NextDouble();
            var years = (float)(random.NextDouble() * 30);
            var late = random.Next(0, 6);
            var score = 0.03 * income - 3.0 * debt + 0.08 * years - 0.7 * late + Gaussian(random) * 0.8;
            data[i] = new LoanApplication { Income = income, DebtRatio = debt, YearsEmployed = years, LatePayments = late, Label = score > 1.0 };
        }
        Console.WriteLine($"generated {rows} applications, {data.Count(d => d.Label)} repaid");
        return data;
    }

    [Step]
    public static (LoanApplication[] Train, LoanApplication[] Test) Split(LoanApplication[] data, double testFraction)
    {
        var testCount = (int)(data.Length * testFraction);
        return (data[testCount..], data[..testCount]);
    }

    [Step(StepOperator = StepOperatorNames.Default)]
    public static MLModel Train(LoanApplication[] train, int trees)
    {
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(train);
        var pipeline = ml.Transforms.Concatenate("Features", nameof(LoanApplication.Income), nameof(LoanApplication.DebtRatio),
                nameof(LoanApplication.YearsEmployed), nameof(LoanApplication.LatePayments))
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: trees, numberOfLeaves: 16, minimumExampleCountPerLeaf: 10));
        var model = pipeline.Fit(view);
        Console.WriteLine($"trained FastTree with {trees} trees on {train.Length} rows in process {Environment.ProcessId} on {Environment.MachineName}");
        return new MLModel(model, view.Schema);
    }

    [Step]
    public static Metrics Evaluate(MLModel model, LoanApplication[] test)
    {
        var ml = new MLContext(seed: 1);
        var predictions = model.Transformer.Transform(ml.Data.LoadFromEnumerable(test));
        CalibratedBinaryClassificationMetrics m = ml.BinaryClassification.Evaluate(predictions);
        Console.WriteLine($"accuracy {m.Accuracy:0.000}, AUC {m.AreaUnderRocCurve:0.000}");
        return new Metrics(m.Accuracy, m.AreaUnderRocCurve, m.F1Score, m.LogLoss);
    }

    [Pipeline(Name = "quickstart")]
    public static void Build(PipelineBuilder p)
    {
        var data = p.Step(GenerateData, 3000, 42);
        var (train, test) = p.Step(Split, data, 0.2);
        var model = p.Step(Train, train, 100);
        p.Step(Evaluate, model, test);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Sin(2.0 * Math.PI * random.NextDouble());
}
