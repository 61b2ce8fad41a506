using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>
/// The SageMaker step operator registered as the document Strata started from does (seed-step-operators.md), with
/// <c>strata</c> for <c>zenml</c>: its <c>base_image</c> is a setting of its own (the image job images are built on), its
/// <c>bucket_name</c> an alias of <c>output_data_s3_uri</c>.
/// </summary>
public sealed class ConfigAliasTests : IDisposable
{
    private const string Role = "arn:aws:iam::123456789012:role/SageMakerRole";
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public void The_seed_register_command_works_as_written_and_stores_the_canonical_keys()
    {
        // The seed's lines, one argument each (its example lacks some line-continuation backslashes; the arguments are these).
        var register = _cli.Run("step-operator", "register", "sagemaker",
            "--flavor=sagemaker",
            $"--role={Role}",
            "--instance_type=ml.m5.large",
            "--base_image=123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
            "--bucket_name=my-bucket",
            "--experiment_name=churn");
        Assert.True(register.ExitCode == 0, register.ToString());

        var config = _cli.Run("step-operator", "describe", "sagemaker", "--output", "json").Json.GetProperty("config");
        var keys = config.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["base_image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
            ["experiment_name"] = "churn",
            ["instance_type"] = "ml.m5.large",
            ["output_data_s3_uri"] = "s3://my-bucket/sagemaker",
            ["role"] = Role,
        }, keys);

        // update takes the alias too, and replaces the key's value; removing by the alias removes the key.
        var update = _cli.Run("step-operator", "update", "sagemaker", "--bucket-name=other");
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Equal("s3://other/sagemaker", _cli.Run("step-operator", "describe", "sagemaker", "--output", "json").Json.GetProperty("config")
            .GetProperty("output_data_s3_uri").GetString());
        var remove = _cli.Run("step-operator", "update", "sagemaker", "--bucket_name=");
        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.False(_cli.Run("step-operator", "describe", "sagemaker", "--output", "json").Json.GetProperty("config")
            .TryGetProperty("output_data_s3_uri", out _));
    }

    [Fact]
    public void Flavor_describe_shows_the_aliases()
    {
        var json = _cli.Run("step-operator", "flavor", "describe", "sagemaker", "--output", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var fields = json.Json.GetProperty("config").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.Empty(fields["base_image"].GetProperty("aliases").EnumerateArray());
        Assert.Equal(["bucket_name"], fields["output_data_s3_uri"].GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Empty(fields["role"].GetProperty("aliases").EnumerateArray());

        var table = _cli.Run("step-operator", "flavor", "describe", "sagemaker");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("ALIASES", table.Out);
        var outputRow = table.Out.Split('\n').Single(l => l.TrimStart().StartsWith("output_data_s3_uri ", StringComparison.Ordinal));
        Assert.Contains("bucket_name", outputRow);
        Assert.DoesNotContain("ALIASES", _cli.Run("artifact-store", "flavor", "describe", "local").Out);
    }

    [Fact]
    public void A_key_and_its_alias_together_are_refused_in_one_line()
    {
        var both = _cli.Run("step-operator", "register", "sm", "--flavor=sagemaker", $"--role={Role}", "--output_data_s3_uri=s3://a/b", "--bucket_name=b");
        Assert.Equal(2, both.ExitCode);
        var line = Assert.Single(both.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("both 'output_data_s3_uri' and its alias 'bucket_name' are given", line);
        Assert.DoesNotContain(_cli.Run("step-operator", "list", "--output", "json").Json.EnumerateArray(), c => c.GetProperty("name").GetString() == "sm");
    }

    [Fact]
    public void An_unknown_key_still_gets_the_closest_suggestion()
    {
        var typo = _cli.Run("step-operator", "register", "sm", "--flavor=sagemaker", $"--role={Role}", "--bucket_nme=b");
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("unknown config key 'bucket_nme'; did you mean 'bucket_name'?", typo.Error);

        var key = _cli.Run("step-operator", "register", "sm", "--flavor=sagemaker", $"--role={Role}", "--instance_typ=ml.m5.large");
        Assert.Equal(2, key.ExitCode);
        Assert.Contains("did you mean 'instance_type'?", key.Error);
    }
}
