using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Strata.Tests.Caching;

/// <summary>
/// Emits and loads a small assembly holding <c>Generated.Steps.Compute(int x) => Helper(x)</c>, a [Step], where
/// <c>Helper(x) => x + helperAddend</c>, plus an unrelated method. Every variant has the same assembly, type and
/// method names, so two variants differ only in the IL a test chooses: exactly what a code edit between two runs does.
/// </summary>
internal static class GeneratedSteps
{
    /// <param name="helperAddend">What the helper adds: changes only the helper's IL.</param>
    /// <param name="unrelatedResult">What an unrelated method returns: changes only IL the step never reaches.</param>
    /// <param name="viaStateMachine">
    /// Shape the step like a C# async method: its body only sets up a state machine type (named by
    /// [AsyncStateMachine]) whose MoveNext is the one calling the helper.
    /// </param>
    public static MethodInfo Compute(int helperAddend, int unrelatedResult = 0, bool viaStateMachine = false)
    {
        var assembly = new PersistedAssemblyBuilder(new AssemblyName("Strata.Tests.GeneratedSteps"), typeof(object).Assembly);
        var module = assembly.DefineDynamicModule("Strata.Tests.GeneratedSteps");
        var type = module.DefineType("Generated.Steps", TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.Class);

        var helper = type.DefineMethod("Helper", MethodAttributes.Public | MethodAttributes.Static, typeof(int), [typeof(int)]);
        var il = helper.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, helperAddend);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ret);

        var unrelated = type.DefineMethod("Unrelated", MethodAttributes.Public | MethodAttributes.Static, typeof(int), Type.EmptyTypes);
        il = unrelated.GetILGenerator();
        il.Emit(OpCodes.Ldc_I4, unrelatedResult);
        il.Emit(OpCodes.Ret);

        var compute = type.DefineMethod("Compute", MethodAttributes.Public | MethodAttributes.Static, typeof(int), [typeof(int)]);
        compute.DefineParameter(1, ParameterAttributes.None, "x");
        compute.SetCustomAttribute(new CustomAttributeBuilder(typeof(StepAttribute).GetConstructor(Type.EmptyTypes)!, []));
        TypeBuilder? stateMachine = null;
        if (viaStateMachine)
        {
            stateMachine = type.DefineNestedType("<Compute>d__0", TypeAttributes.NestedPrivate | TypeAttributes.Sealed | TypeAttributes.Class);
            var field = stateMachine.DefineField("x", typeof(int), FieldAttributes.Public);
            var moveNext = stateMachine.DefineMethod("MoveNext", MethodAttributes.Private | MethodAttributes.HideBySig, typeof(void), Type.EmptyTypes);
            il = moveNext.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, field);
            il.Emit(OpCodes.Call, helper);
            il.Emit(OpCodes.Pop);
            il.Emit(OpCodes.Ret);
            stateMachine.DefineDefaultConstructor(MethodAttributes.Public);
            compute.SetCustomAttribute(new CustomAttributeBuilder(typeof(AsyncStateMachineAttribute).GetConstructor([typeof(Type)])!, [stateMachine]));
            // The kick-off body references the state machine only as a type, as the real one does.
            il = compute.GetILGenerator();
            var local = il.DeclareLocal(stateMachine);
            il.Emit(OpCodes.Ldnull);
            il.Emit(OpCodes.Stloc, local);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ret);
        }
        else
        {
            il = compute.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Call, helper);
            il.Emit(OpCodes.Ret);
        }

        type.CreateType();
        stateMachine?.CreateType();
        using var image = new MemoryStream();
        assembly.Save(image);
        image.Position = 0;
        var loaded = new AssemblyLoadContext($"generated-steps-{Guid.NewGuid():n}").LoadFromStream(image);
        return loaded.GetType("Generated.Steps", throwOnError: true)!.GetMethod("Compute")!;
    }
}
