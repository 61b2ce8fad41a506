namespace Strata.Tests.Orchestration;

public sealed record Split(int[] Train, int[] Test);

/// <summary>A record with a computed property: stored as an output too, and rebuilt for a consumer of the whole record.</summary>
public sealed record Metrics(double Accuracy, int Count)
{
    public double ErrorRate => 1 - Accuracy;
}

public static class FlowSteps
{
    [Step]
    public static int[] Load(int n) => Enumerable.Range(1, n).ToArray();

    [Step]
    public static async Task<int> SumAsync(int[] values)
    {
        await Task.Delay(1);
        return values.Sum();
    }

    [Step]
    public static async ValueTask<string> DescribeAsync(int total)
    {
        await Task.Yield();
        return $"total={total}";
    }

    [Step]
    public static (int[] Head, int[] Tail) SplitTuple(int[] data, int at) => (data[..at], data[at..]);

    [Step]
    public static string JoinTuple((int[] Head, int[] Tail) parts) => $"{string.Join(",", parts.Head)}|{string.Join(",", parts.Tail)}";

    [Step]
    public static Split SplitRecord(int[] data) => new(data.Where(x => x % 2 == 1).ToArray(), data.Where(x => x % 2 == 0).ToArray());

    [Step]
    public static int Count(int[] values) => values.Length;

    [Step]
    public static string DescribeSplit(Split split) => $"train={split.Train.Length} test={split.Test.Length}";

    [Step]
    public static Metrics Measure(int[] values) => new(0.75, values.Length);

    [Step]
    public static string Report(Metrics metrics) => $"{metrics.Accuracy}/{metrics.Count}/{metrics.ErrorRate}";

    [Step]
    public static string? Nothing(int x) => x < 0 ? "negative" : null;

    [Step]
    public static int LengthOrZero(string? value) => value?.Length ?? 0;
}

public class DataFlowTests
{
    [Fact]
    public async Task Outputs_flow_from_step_to_step_and_async_steps_are_awaited()
    {
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            var data = p.Step(FlowSteps.Load, 4);
            var total = p.Step(FlowSteps.SumAsync, data);
            p.Step(FlowSteps.DescribeAsync, total);
        });

        Assert.True(result.Succeeded);
        Assert.Equal(ExecutionStatus.Completed, result.Run.Status);
        Assert.All(result.Steps, s => Assert.Equal(ExecutionStatus.Completed, s.Status));
        Assert.Equal(new[] { 1, 2, 3, 4 }, await result.LoadAsync<int[]>("load"));
        Assert.Equal(10, await result.LoadAsync<int>("sum_async"));
        Assert.Equal("total=10", await result.LoadAsync<string>("describe_async"));
        var stored = await home.Store.FindRunAsync(result.Run.Id);
        Assert.Equal(ExecutionStatus.Completed, stored!.Status);
        Assert.Equal(3, stored.StepCount);
    }

    [Fact]
    public async Task A_tuple_step_stores_each_element_and_downstream_steps_take_one_element_or_the_whole_tuple()
    {
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            var data = p.Step(FlowSteps.Load, 5);
            var (head, tail) = p.Step(FlowSteps.SplitTuple, data, 2);
            p.Step(FlowSteps.Count, head).Named("count_head");
            p.Step(FlowSteps.Count, tail).Named("count_tail");
            p.Step(FlowSteps.JoinTuple, p.Step(FlowSteps.SplitTuple, data, 3));
        });

        Assert.True(result.Succeeded, result.Run.Error);
        Assert.Equal(["head", "tail"], result["split_tuple"].Outputs.Keys.Order());
        Assert.Equal(new[] { 1, 2 }, await result.LoadAsync<int[]>("split_tuple", "head"));
        Assert.Equal(new[] { 3, 4, 5 }, await result.LoadAsync<int[]>("split_tuple", "tail"));
        Assert.Equal(2, await result.LoadAsync<int>("count_head"));
        Assert.Equal(3, await result.LoadAsync<int>("count_tail"));
        Assert.Equal("1,2,3|4,5", await result.LoadAsync<string>("join_tuple"));
    }

    [Fact]
    public async Task A_record_step_stores_each_property_and_downstream_steps_take_one_property_or_the_whole_record()
    {
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            var split = p.Step(FlowSteps.SplitRecord, p.Step(FlowSteps.Load, 5));
            p.Step(FlowSteps.Count, split.Output(s => s.Train)).Named("count_train");
            p.Step(FlowSteps.Count, split.Output(s => s.Test)).Named("count_test");
            p.Step(FlowSteps.DescribeSplit, split);
        });

        Assert.True(result.Succeeded, result.Run.Error);
        Assert.Equal(["test", "train"], result["split_record"].Outputs.Keys.Order());
        Assert.Equal(new[] { 1, 3, 5 }, await result.LoadAsync<int[]>("split_record", "train"));
        Assert.Equal(new[] { 2, 4 }, await result.LoadAsync<int[]>("split_record", "test"));
        Assert.Equal(3, await result.LoadAsync<int>("count_train"));
        Assert.Equal(2, await result.LoadAsync<int>("count_test"));
        Assert.Equal("train=3 test=2", await result.LoadAsync<string>("describe_split"));
    }

    [Fact]
    public async Task A_whole_record_with_a_computed_property_reaches_a_downstream_step()
    {
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p => p.Step(FlowSteps.Report, p.Step(FlowSteps.Measure, p.Step(FlowSteps.Load, 4))));

        Assert.True(result.Succeeded, result.Run.Error);
        Assert.Equal(0.75, await result.LoadAsync<double>("measure", "accuracy"));
        Assert.Equal(4, await result.LoadAsync<int>("measure", "count"));
        Assert.Equal("0.75/4/0.25", await result.LoadAsync<string>("report"));
    }

    [Fact]
    public async Task A_null_output_is_stored_and_passed_on_as_null()
    {
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p => p.Step(FlowSteps.LengthOrZero, p.Step(FlowSteps.Nothing, 1)));

        Assert.True(result.Succeeded, result.Run.Error);
        Assert.Null(await result.LoadAsync<string?>("nothing"));
        Assert.Equal(0, await result.LoadAsync<int>("length_or_zero"));
    }

    [Fact]
    public async Task Loading_an_output_a_step_does_not_have_names_the_outputs_it_has()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(FlowSteps.SplitTuple, p.Step(FlowSteps.Load, 3), 1));

        var e = await Assert.ThrowsAsync<ArgumentException>(() => result.LoadAsync<int[]>("split_tuple"));
        Assert.Contains("head", e.Message);
        Assert.Contains("tail", e.Message);
        Assert.Throws<ArgumentException>(() => result["no_such_step"]);
    }
}
