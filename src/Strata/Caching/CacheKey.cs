using System.IO.Hashing;
using System.Text;

namespace Strata;

/// <summary>
/// A step's cache key: a hash of its identity, code version, literal parameters, the content hashes of its inputs
/// and the name and version of each output's materializer. Equal keys mean the step would produce the same outputs.
/// </summary>
internal static class CacheKey
{
    public static string Compute(StepDefinition step, IReadOnlyList<string> parameterParts,
        IEnumerable<(string Name, Materializer Materializer)> outputMaterializers)
    {
        var hash = new XxHash128();
        void Add(string s)
        {
            hash.Append(Encoding.UTF8.GetBytes(s));
            hash.Append([0]);
        }
        Add("strata-cache-v1");
        Add(step.FullName);
        Add(step.CodeVersion);
        foreach (var p in parameterParts) Add(p);
        foreach (var (name, m) in outputMaterializers)
            Add($"{name}={m.Name}@{m.Version}");
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }
}
