namespace Strata.Tests.Pipelines;

public sealed record SplitResult(int[] Train, int[] Test);

public static class BuilderSteps
{
    [Step]
    public static int[] LoadData(int n) => Enumerable.Range(0, n).ToArray();

    [Step]
    public static int Train(int[] data, int epochs) => data.Sum() * epochs;

    [Step(Name = "evaluate_model")]
    public static double Evaluate(int model) => model / 2.0;

    [Step]
    public static (int[] TrainSet, int[] TestSet) SplitTuple(int[] data) => (data[..1], data[1..]);

    [Step]
    public static (int, string) Unnamed(int x) => (x, "x");

    [Step]
    public static async Task<(int First, int Second)> SplitAsync(int x)
    {
        await Task.Yield();
        return (x, x + 1);
    }

    [Step]
    public static (int Count, (int X, int Y) Pair) Nested(int x) => (x, (x, x));

    [Step]
    public static SplitResult SplitRecord(int[] data) => new(data[..1], data[1..]);

    [Step]
    public static int Count(int[] values) => values.Length;

    public static int Twice(int x) => 2 * x;
}

public class PipelineBuilderTests
{
    [Fact]
    public void A_step_called_several_times_gets_numbered_invocation_names()
    {
        var pipeline = PipelineDefinition.Build(p =>
        {
            var data = p.Step(BuilderSteps.LoadData, 3);
            p.Step(BuilderSteps.Train, data, 1);
            p.Step(BuilderSteps.Train, data, 2);
            p.Step(BuilderSteps.Train, data, 3);
        }, "numbered");

        Assert.Equal(["load_data", "train", "train_2", "train_3"], pipeline.StepNames);
    }

    [Fact]
    public void A_caller_can_name_an_invocation()
    {
        var pipeline = PipelineDefinition.Build(p =>
        {
            var data = p.Step(BuilderSteps.LoadData, 3).Named("raw");
            var small = p.Step(BuilderSteps.Train, data, 1).Named("train_small");
            Assert.Equal("train_small", small.StepName);
            p.Step(BuilderSteps.Train, data, 100);
        }, "named");

        Assert.Equal(["raw", "train_small", "train_2"], pipeline.StepNames);
    }

    [Fact]
    public void The_step_attribute_name_and_snake_case_method_name_name_a_step()
    {
        var pipeline = PipelineDefinition.Build(p =>
        {
            var model = p.Step(BuilderSteps.Train, p.Step(BuilderSteps.LoadData, 1), 1);
            p.Step(BuilderSteps.Evaluate, model);
        }, "naming");

        Assert.Equal(["load_data", "train", "evaluate_model"], pipeline.StepNames);
    }

    [Fact]
    public void Tuple_outputs_are_named_by_the_tuple_element_names()
    {
        Assert.Equal(["train_set", "test_set"], OutputNames(nameof(BuilderSteps.SplitTuple)));
        Assert.Equal(["first", "second"], OutputNames(nameof(BuilderSteps.SplitAsync)));
        Assert.Equal(["output_0", "output_1"], OutputNames(nameof(BuilderSteps.Unnamed)));
    }

    [Fact]
    public void A_tuple_holding_a_tuple_is_named_by_its_own_elements()
    {
        Assert.Equal(["count", "pair"], OutputNames(nameof(BuilderSteps.Nested)));
    }

    [Fact]
    public void Record_outputs_are_one_per_property_and_a_plain_value_is_one_output()
    {
        Assert.Equal(["train", "test"], OutputNames(nameof(BuilderSteps.SplitRecord)));
        Assert.Equal(["output"], OutputNames(nameof(BuilderSteps.LoadData)));
    }

    [Fact]
    public void Deconstruction_and_Output_select_single_named_outputs()
    {
        PipelineDefinition.Build(p =>
        {
            var data = p.Step(BuilderSteps.LoadData, 4);
            var (trainSet, testSet) = p.Step(BuilderSteps.SplitTuple, data);
            Assert.Equal("split_tuple.train_set", trainSet.ToString());
            Assert.Equal("split_tuple.test_set", testSet.ToString());

            var split = p.Step(BuilderSteps.SplitRecord, data);
            Assert.Equal("split_record", split.ToString());
            Assert.Equal("split_record.test", split.Output(s => s.Test).ToString());
            Assert.Equal("split_record.train", split.Output<int[]>("train").ToString());

            var wrongType = Assert.Throws<ArgumentException>(() => split.Output<string>("train"));
            Assert.Contains("train", wrongType.Message);
            var unknown = Assert.Throws<ArgumentException>(() => split.Output<int[]>("validation"));
            Assert.Contains("train, test", unknown.Message);
            p.Step(BuilderSteps.Count, split.Output(s => s.Test));
        }, "outputs");
    }

    [Fact]
    public void A_lambda_or_an_instance_method_is_refused_as_a_step()
    {
        PipelineDefinition.Build(p =>
        {
            var lambda = Assert.Throws<ArgumentException>(() => p.Step((int x) => x + 1, 1));
            Assert.Contains("lambda", lambda.Message);
            var instance = new Instance();
            var e = Assert.Throws<ArgumentException>(() => p.Step(instance.AddOne, 1));
            Assert.Contains("static", e.Message);
            p.Step(BuilderSteps.LoadData, 1);
        }, "refused");
    }

    [Fact]
    public void A_pipeline_is_named_by_its_attribute_or_its_method()
    {
        Assert.Equal("custom_name", PipelineDefinition.Build(NamedPipeline.Define).Name);
        Assert.Equal("training_pipeline", PipelineDefinition.Build(TrainingPipeline.Build).Name);
        Assert.Equal("explicit", PipelineDefinition.Build(TrainingPipeline.Build, "explicit").Name);
    }

    private static IEnumerable<string> OutputNames(string method) =>
        StepDefinition.For(typeof(BuilderSteps).GetMethod(method)!).Outputs.Select(o => o.Name);

    private sealed class Instance
    {
        private readonly int _one = 1;

        [Step]
        public int AddOne(int x) => x + _one;
    }
}

public static class NamedPipeline
{
    [Pipeline(Name = "custom_name")]
    public static void Define(PipelineBuilder p) => p.Step(BuilderSteps.LoadData, 1);
}

public static class TrainingPipeline
{
    [Pipeline]
    public static void Build(PipelineBuilder p) => p.Step(BuilderSteps.LoadData, 1);
}
