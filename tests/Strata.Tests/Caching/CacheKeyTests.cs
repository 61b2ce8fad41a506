using System.Text;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Caching;

public sealed class Celsius(double degrees)
{
    public double Degrees { get; } = degrees;
}

/// <summary>Stores a <see cref="Celsius"/> as text; its version is whatever the test says.</summary>
public sealed class CelsiusMaterializer(int version) : Materializer<Celsius>
{
    public override string Name => "test.celsius";

    public override int Version => version;

    protected override async Task SaveAsync(Celsius value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        await using var stream = writer.CreateFile("celsius.txt");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(value.Degrees.ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellationToken);
    }

    protected override async Task<Celsius> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        using var text = new StreamReader(reader.OpenFile("celsius.txt"));
        return new Celsius(double.Parse(await text.ReadToEndAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture));
    }
}

public static class TemperatureSteps
{
    [Step]
    public static Celsius Measure(string testId, double degrees)
    {
        Probe.Hit(testId, "measure");
        return new Celsius(degrees);
    }

    [Step]
    public static double Read(Celsius value) => value.Degrees;

    [Step(Version = "1")]
    public static int Explicit(int x) => x;

    [Step(Version = "2")]
    public static int ExplicitNext(int x) => x;
}

public class CacheKeyTests
{
    private static StepDefinition Step(string name) => StepDefinition.For(typeof(TemperatureSteps).GetMethod(name)!);

    [Fact]
    public void The_key_depends_on_parameters_code_version_and_output_materializer_versions()
    {
        var step = Step(nameof(TemperatureSteps.Measure));
        string Key(string[] parts, int materializerVersion) =>
            CacheKey.Compute(step, parts, [("output", new CelsiusMaterializer(materializerVersion))]);

        var key = Key(["testId=json:\"a\"", "degrees=json:1"], 1);
        Assert.Equal(key, Key(["testId=json:\"a\"", "degrees=json:1"], 1));
        Assert.NotEqual(key, Key(["testId=json:\"a\"", "degrees=json:2"], 1));
        Assert.NotEqual(key, Key(["testId=json:\"a\"", "degrees=json:1"], 2));

        var explicit1 = CacheKey.Compute(Step(nameof(TemperatureSteps.Explicit)), ["x=json:1"], []);
        Assert.Equal(explicit1, CacheKey.Compute(Step(nameof(TemperatureSteps.Explicit)), ["x=json:1"], []));
        Assert.NotEqual(explicit1, CacheKey.Compute(Step(nameof(TemperatureSteps.ExplicitNext)), ["x=json:1"], []));
    }

    [Fact]
    public void Keys_stay_those_that_stores_already_hold()
    {
        // Each part as UTF-8 followed by a 0 byte, through XxHash128, as the keys in existing stores were computed: a change of
        // form would turn every cached step into a miss.
        var step = Step(nameof(TemperatureSteps.Explicit));
        var reference = new System.IO.Hashing.XxHash128();
        foreach (var part in new[] { "strata-cache-v1", step.FullName, step.CodeVersion, "x=json:1", "output=test.celsius@3" })
        {
            reference.Append(Encoding.UTF8.GetBytes(part));
            reference.Append([0]);
        }

        Assert.Equal(Convert.ToHexStringLower(reference.GetCurrentHash()),
            CacheKey.Compute(step, ["x=json:1"], [("output", new CelsiusMaterializer(3))]));
    }

    [Fact]
    public async Task A_new_version_of_an_output_materializer_is_a_miss()
    {
        var id = Probe.NewId();
        await using var v1 = await TestHome.OpenAsync(materializers: new MaterializerRegistry().Register(new CelsiusMaterializer(1)));
        void Pipeline(PipelineBuilder p) => p.Step(TemperatureSteps.Read, p.Step(TemperatureSteps.Measure, id, 21.5));

        var first = await v1.RunAsync(Pipeline);
        var again = await v1.RunAsync(Pipeline);
        Assert.Equal(ExecutionStatus.Completed, first["measure"].Status);
        Assert.Equal("test.celsius", first["measure"].Outputs["output"].Materializer);
        Assert.Equal(1, first["measure"].Outputs["output"].MaterializerVersion);
        Assert.Equal(ExecutionStatus.Cached, again["measure"].Status);

        // The same home, opened by an application whose materializer is at version 2.
        await using var v2 = await TestHome.OpenAsync(materializers: new MaterializerRegistry().Register(new CelsiusMaterializer(2)), existing: v1.Directory);
        var upgraded = await v2.RunAsync(Pipeline);

        Assert.Equal(ExecutionStatus.Completed, upgraded["measure"].Status);
        Assert.Equal(2, upgraded["measure"].Outputs["output"].MaterializerVersion);
        Assert.Equal(2, Probe.Count(id, "measure"));
        Assert.Equal(21.5, await upgraded.LoadAsync<double>("read"));
        Assert.Equal(21.5, (await upgraded.LoadAsync<Celsius>("measure")).Degrees);
    }
}
