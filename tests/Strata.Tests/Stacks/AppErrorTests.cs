namespace Strata.Tests.Stacks;

/// <summary>How an app that runs pipelines through the library reports a user's mistake: as the strata command does.</summary>
public sealed class AppErrorTests
{
    [Fact]
    public void A_first_party_flavor_the_app_does_not_register_is_named_with_its_package_and_call()
    {
        var error = Assert.Throws<StrataConfigException>(() => new FlavorRegistry().Get(ComponentType.StepOperator, "slurm"));
        Assert.Contains("Unknown step-operator flavor 'slurm'; known flavors: local-process.", error.Message);
        Assert.Contains("comes with the Strata.Slurm package: reference it and call flavors.AddSlurm()", error.Message);

        var s3 = Assert.Throws<StrataConfigException>(() => new FlavorRegistry().Get(ComponentType.ArtifactStore, "s3"));
        Assert.Contains("Strata.Aws package", s3.Message);

        var other = Assert.Throws<StrataConfigException>(() => new FlavorRegistry().Get(ComponentType.StepOperator, "nomad"));
        Assert.DoesNotContain("package", other.Message);
    }

    [Fact]
    public async Task StrataApp_turns_a_user_error_into_one_line_and_exit_code_2()
    {
        using var error = new StringWriter();
        var code = await StrataApp.RunAsync(() => throw new StackValidationException("default", ["step 'train' asks for step operator 'gpu'"]), error);

        Assert.Equal(StrataApp.UserError, code);
        Assert.StartsWith("error: Cannot run on stack 'default':", error.ToString());
        Assert.DoesNotContain(" at ", error.ToString());
        Assert.Equal(7, await StrataApp.RunAsync(() => Task.FromResult(7), error));
    }

    [Fact]
    public async Task StrataApp_lets_a_bug_through()
    {
        using var error = new StringWriter();
        await Assert.ThrowsAsync<InvalidOperationException>(() => StrataApp.RunAsync(() => throw new InvalidOperationException("a bug"), error));
    }
}
