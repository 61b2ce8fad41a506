using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace Strata;

/// <summary>
/// A step's cache key: a hash of its identity, code version, literal parameters, the content hashes of its inputs
/// and the name and version of each output's materializer. Equal keys mean the step would produce the same outputs.
/// </summary>
internal static class CacheKey
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    public static string Compute(StepDefinition step, IReadOnlyList<string> parameterParts,
        IEnumerable<(string Name, Materializer Materializer)> outputMaterializers)
    {
        // Each part as UTF-8 and a 0 byte, hashed at once: a run computes a key for every step.
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        void Add(string s)
        {
            Encoding.UTF8.GetBytes(s, buffer);
            buffer.Write([(byte)0]);
        }
        Add("strata-cache-v1");
        Add(step.FullName);
        Add(step.CodeVersion);
        foreach (var p in parameterParts) Add(p);
        foreach (var (name, m) in outputMaterializers)
            Add($"{name}={m.Name}@{m.Version}");
        return Hex.Lower(XxHash128.Hash(buffer.WrittenSpan));
    }
}
