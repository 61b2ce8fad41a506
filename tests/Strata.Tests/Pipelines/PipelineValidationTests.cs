using Strata.Tests.Orchestration;

namespace Strata.Tests.Pipelines;

public sealed class NotMaterializable
{
    public Func<int> Compute { get; init; } = () => 1;
}

public static class ValidationSteps
{
    [Step]
    public static int Source(string testId)
    {
        Probe.Hit(testId, "source");
        return 1;
    }

    [Step]
    public static int AddTo(int value, int amount) => value + amount;

    [Step]
    public static int ByType(Type kind) => kind.Name.Length;

    [Step]
    public static Func<int> MakeFunction(int x) => () => x;

    [Step]
    public static System.IO.Stream MakeStream(int x) => new MemoryStream(new byte[x]);

    public static int NotAStep(int x) => x;
}

public class PipelineValidationTests
{
    [Fact]
    public void A_method_without_the_step_attribute_is_reported_with_the_step_and_method()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p => p.Step(ValidationSteps.NotAStep, 1), "p"));
        var problem = Assert.Single(e.Problems);
        Assert.Contains("step 'not_a_step'", problem);
        Assert.Contains($"{typeof(ValidationSteps).FullName}.NotAStep", problem);
        Assert.Contains("[Step]", problem);
    }

    [Fact]
    public void An_output_of_another_pipeline_is_reported_naming_the_step_and_parameter()
    {
        StepOutput<int>? foreign = null;
        PipelineDefinition.Build(p => foreign = p.Step(ValidationSteps.Source, "x").Named("other_source"), "other");

        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p =>
        {
            p.Step(ValidationSteps.AddTo, foreign!, 1).Named("add");
        }, "mine"));

        var problem = Assert.Single(e.Problems);
        Assert.Contains("step 'add'", problem);
        Assert.Contains("parameter 'value'", problem);
        Assert.Contains("other_source", problem);
        Assert.Contains("'other'", problem);
    }

    [Fact]
    public void A_literal_that_cannot_be_stored_is_reported_naming_the_step_and_parameter()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p => p.Step(ValidationSteps.ByType, typeof(int)), "p"));
        var problem = Assert.Single(e.Problems);
        Assert.Contains("step 'by_type'", problem);
        Assert.Contains("parameter 'kind'", problem);
        Assert.Contains("another step's output", problem);
    }

    [Fact]
    public void Null_for_a_value_type_parameter_is_reported_naming_the_step_and_parameter()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p =>
        {
            var source = p.Step(ValidationSteps.Source, "x");
            p.Step(ValidationSteps.AddTo, source, (StepInput<int>)null!);
        }, "p"));
        var problem = Assert.Single(e.Problems);
        Assert.Contains("step 'add_to'", problem);
        Assert.Contains("parameter 'amount'", problem);
        Assert.Contains("null", problem);
    }

    [Fact]
    public void An_output_type_without_a_materializer_is_reported_naming_the_step_and_output()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p =>
        {
            p.Step(ValidationSteps.MakeFunction, 1);
            p.Step(ValidationSteps.MakeStream, 1);
        }, "p"));
        Assert.Equal(2, e.Problems.Count);
        Assert.Contains(e.Problems, m => m.Contains("step 'make_function'") && m.Contains("Func<Int32>") && m.Contains("MaterializerRegistry.Register"));
        Assert.Contains(e.Problems, m => m.Contains("step 'make_stream'") && m.Contains("Stream"));
    }

    [Fact]
    public void Duplicate_and_invalid_invocation_names_are_reported()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p =>
        {
            p.Step(ValidationSteps.Source, "a").Named("same");
            p.Step(ValidationSteps.Source, "b").Named("same");
            p.Step(ValidationSteps.Source, "c").Named("not valid!");
        }, "p"));
        Assert.Contains(e.Problems, m => m.Contains("'same'") && m.Contains("2 invocations") && m.Contains(".Named("));
        Assert.Contains(e.Problems, m => m.Contains("'not valid!'") && m.Contains("not valid"));
    }

    [Fact]
    public void An_empty_pipeline_is_reported()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(_ => { }, "empty"));
        Assert.Contains("no steps", Assert.Single(e.Problems));
    }

    [Fact]
    public void Every_problem_is_listed_in_one_exception()
    {
        var e = Assert.Throws<PipelineValidationException>(() => PipelineDefinition.Build(p =>
        {
            p.Step(ValidationSteps.NotAStep, 1);
            p.Step(ValidationSteps.ByType, typeof(string));
            p.Step(ValidationSteps.MakeFunction, 2);
        }, "many"));

        Assert.Equal("many", e.Pipeline);
        Assert.Equal(3, e.Problems.Count);
        foreach (var problem in e.Problems)
            Assert.Contains(problem, e.Message);
        Assert.Contains("not_a_step", e.Message);
        Assert.Contains("by_type", e.Message);
        Assert.Contains("make_function", e.Message);
    }

    [Fact]
    public async Task A_wiring_mistake_is_reported_before_any_step_runs()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await Assert.ThrowsAsync<PipelineValidationException>(() => home.RunAsync(p =>
        {
            var source = p.Step(ValidationSteps.Source, id);
            p.Step(ValidationSteps.AddTo, source, 1);
            p.Step(ValidationSteps.NotAStep, 1);
        }));

        Assert.Equal(0, Probe.Count(id, "source"));
        Assert.Empty(await home.Store.ListRunsAsync());
    }
}
