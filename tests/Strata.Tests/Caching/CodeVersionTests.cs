namespace Strata.Tests.Caching;

public static class VersionedSteps
{
    [Step(Version = "v3")]
    public static int Pinned(int x) => x * 3;

    [Step]
    public static int Hashed(int x) => x * 3;
}

public class CodeVersionTests
{
    [Fact]
    public void The_same_code_has_the_same_version()
    {
        Assert.Equal(CodeVersion.Of(GeneratedSteps.Compute(helperAddend: 1)), CodeVersion.Of(GeneratedSteps.Compute(helperAddend: 1)));
    }

    [Fact]
    public void A_change_in_a_helper_the_step_calls_changes_its_version()
    {
        // Same assembly, type and method names: only the helper's IL differs.
        var before = GeneratedSteps.Compute(helperAddend: 1);
        var after = GeneratedSteps.Compute(helperAddend: 2);
        Assert.Equal(before.DeclaringType!.FullName, after.DeclaringType!.FullName);

        Assert.NotEqual(CodeVersion.Of(before), CodeVersion.Of(after));
        Assert.NotEqual(StepDefinition.For(before).CodeVersion, StepDefinition.For(after).CodeVersion);
    }

    [Fact]
    public void A_change_in_a_method_the_step_never_calls_keeps_its_version()
    {
        Assert.Equal(CodeVersion.Of(GeneratedSteps.Compute(helperAddend: 1, unrelatedResult: 1)),
            CodeVersion.Of(GeneratedSteps.Compute(helperAddend: 1, unrelatedResult: 2)));
    }

    [Fact]
    public void An_async_step_is_versioned_by_its_state_machine_body()
    {
        // A C# async method's own body only starts a state machine; the code the user wrote is in MoveNext.
        var before = GeneratedSteps.Compute(helperAddend: 1, viaStateMachine: true);
        var after = GeneratedSteps.Compute(helperAddend: 2, viaStateMachine: true);

        Assert.NotEqual(CodeVersion.Of(before), CodeVersion.Of(after));
    }

    [Fact]
    public void An_explicit_version_replaces_the_IL_hash()
    {
        Assert.Equal("v3", StepDefinition.For(typeof(VersionedSteps).GetMethod(nameof(VersionedSteps.Pinned))!).CodeVersion);
        var hashed = StepDefinition.For(typeof(VersionedSteps).GetMethod(nameof(VersionedSteps.Hashed))!).CodeVersion;
        Assert.Matches("^[0-9a-f]{16}$", hashed);
    }
}
