using System.IO.Hashing;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace Strata;

/// <summary>
/// A step's code version: a hash of its method body's IL and, transitively, of the IL of every method
/// it calls or creates in the same assembly. Changing a helper the step uses changes the version; changing
/// an unrelated method does not. XxHash128, as for artifact content: it identifies, it does not have to resist forgery,
/// and a step process that checks its step's version does not have to load a cryptography library for it.
/// </summary>
internal static class CodeVersion
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    public static string Of(MethodInfo method)
    {
        var hash = new XxHash128();
        var seen = new HashSet<MethodBase>();
        var queue = new Queue<MethodBase>();
        queue.Enqueue(method);
        seen.Add(method);
        while (queue.Count > 0)
        {
            var m = queue.Dequeue();
            hash.Append(System.Text.Encoding.UTF8.GetBytes($"{m.DeclaringType?.FullName}::{m}\n"));
            // An async method or iterator only starts a compiler-generated state machine (through a builder in the
            // core library); the code its author wrote is the state machine's MoveNext.
            if (m.GetCustomAttribute<StateMachineAttribute>() is { StateMachineType: { } machine }
                && machine.GetMethod("MoveNext", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance) is { } moveNext
                && seen.Add(moveNext))
                queue.Enqueue(moveNext);
            var il = m.GetMethodBody()?.GetILAsByteArray();
            if (il is null) continue;
            hash.Append(il);
            foreach (var token in MemberTokens(il))
            {
                MemberInfo? member;
                try
                {
                    member = m.Module.ResolveMember(token, m.DeclaringType?.IsGenericType == true ? m.DeclaringType.GetGenericArguments() : null,
                        m.IsGenericMethod ? m.GetGenericArguments() : null);
                }
                catch (ArgumentException) { continue; }
                catch (BadImageFormatException) { continue; }
                // Names of what the code uses are part of it (a call to Max instead of Min has the same token shape).
                if (member is not null)
                    hash.Append(System.Text.Encoding.UTF8.GetBytes(member.DeclaringType?.FullName + "::" + member + "\n"));
                if (member is MethodBase callee && callee.Module.Assembly == method.Module.Assembly)
                {
                    var definition = callee is MethodInfo { IsGenericMethod: true } g ? g.GetGenericMethodDefinition() : callee;
                    if (seen.Add(definition)) queue.Enqueue(definition);
                    // Lambdas and local functions compile to methods on nested closure types: they are reached as calls or ldftn.
                }
            }
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash())[..16];
    }

    /// <summary>Tokens of methods, fields and types referenced by the IL (call, callvirt, newobj, ldftn, ldfld, ...).</summary>
    private static IEnumerable<int> MemberTokens(byte[] il)
    {
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i];
            if (value == 0xFE && i + 1 < il.Length)
            {
                value = (short)(0xFE00 | il[i + 1]);
                i += 2;
            }
            else i += 1;
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break;
            switch (op.OperandType)
            {
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    yield return BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8:
                case OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, i);
                    i += 4 + 4 * count;
                    break;
                default: i += 4; break;
            }
        }
    }
}
