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
    public void The_operand_table_matches_every_opcode_the_runtime_defines()
    {
        var opcodes = typeof(System.Reflection.Emit.OpCodes).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Select(f => (System.Reflection.Emit.OpCode)f.GetValue(null)!)
            .ToArray();
        Assert.True(opcodes.Length > 200);
        foreach (var op in opcodes)
        {
            var entry = op.Size == 1 ? CodeVersion.OneByteOperands[op.Value & 0xFF] : CodeVersion.TwoByteOperands[op.Value & 0xFF];
            var expected = op.OperandType switch
            {
                System.Reflection.Emit.OperandType.InlineMethod or System.Reflection.Emit.OperandType.InlineField
                    or System.Reflection.Emit.OperandType.InlineTok or System.Reflection.Emit.OperandType.InlineType => 'T',
                System.Reflection.Emit.OperandType.InlineNone => '0',
                System.Reflection.Emit.OperandType.ShortInlineBrTarget or System.Reflection.Emit.OperandType.ShortInlineI
                    or System.Reflection.Emit.OperandType.ShortInlineVar => '1',
                System.Reflection.Emit.OperandType.InlineVar => '2',
                System.Reflection.Emit.OperandType.InlineI8 or System.Reflection.Emit.OperandType.InlineR => '8',
                System.Reflection.Emit.OperandType.InlineSwitch => 'S',
                _ => '4',
            };
            Assert.True(expected == entry, $"{op.Name} (0x{op.Value:X4}): table has '{entry}', expected '{expected}'");
        }
        var defined = opcodes.Select(o => o.Value).ToHashSet();
        for (var b = 0; b < 256; b++)
            Assert.True(defined.Contains((short)b) == (CodeVersion.OneByteOperands[b] != '-'), $"one-byte 0x{b:X2}");
        for (var b = 0; b < CodeVersion.TwoByteOperands.Length; b++)
            Assert.True(defined.Contains(unchecked((short)(0xFE00 | b))) == (CodeVersion.TwoByteOperands[b] != '-'), $"two-byte 0xFE{b:X2}");
    }

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
