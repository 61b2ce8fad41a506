using System.IO.Hashing;
using System.Reflection;
using System.Reflection.Emit; // cref only
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
    /// <summary>
    /// The operand of each IL opcode, by its byte (one-byte opcodes, then the 0xFE-prefixed ones): <c>0</c> none,
    /// <c>1</c>/<c>2</c>/<c>4</c>/<c>8</c> that many bytes, <c>T</c> a 4-byte member token, <c>S</c> a switch table,
    /// <c>-</c> no such opcode. Written out rather than read from <see cref="OpCodes"/> by reflection, which cost a
    /// step process several milliseconds; a test checks it against <see cref="OpCodes"/>.
    /// </summary>
    internal const string OneByteOperands =
        "000000000000001111110000000000014848-00TT40111111111111144444444" +
        "44444S00000000000000000000000000000000000000000TTT4TTT0--T0TTTTT" +
        "TT0000000000TT0T0000000000000000000TTT-------------00000000-----" +
        "--T0--T---------T0000000000004100-----------------------00000000";

    /// <inheritdoc cref="OneByteOperands"/>
    internal const string TwoByteOperands = "000000TT-2222220-0100TT00-0-T00-";

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
        return Hex.Lower(hash.GetCurrentHash().AsSpan(0, 8));
    }

    /// <summary>Tokens of methods, fields and types referenced by the IL (call, callvirt, newobj, ldftn, ldfld, ...).</summary>
    private static IEnumerable<int> MemberTokens(byte[] il)
    {
        var i = 0;
        while (i < il.Length)
        {
            char operand;
            if (il[i] == 0xFE && i + 1 < il.Length)
            {
                operand = il[i + 1] < TwoByteOperands.Length ? TwoByteOperands[il[i + 1]] : '-';
                i += 2;
            }
            else
            {
                operand = OneByteOperands[il[i]];
                i += 1;
            }
            switch (operand)
            {
                case 'T':
                    yield return BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                case 'S':
                    var count = BitConverter.ToInt32(il, i);
                    i += 4 + 4 * count;
                    break;
                case '-': yield break;
                default: i += operand - '0'; break;
            }
        }
    }
}
