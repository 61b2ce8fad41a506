using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.StepOperators;

/// <summary>The resources a step asks for. Null means "not requested".</summary>
public sealed partial record StepResources(double? Cpus = null, int? Gpus = null, long? MemoryBytes = null, string? GpuType = null)
{
    public static StepResources None { get; } = new();

    public bool IsEmpty => Cpus is null && Gpus is null && MemoryBytes is null && GpuType is null;

    /// <exception cref="StrataConfigException">The memory value has no valid unit.</exception>
    public static StepResources From(ResourcesAttribute? attribute) => attribute is null ? None : new StepResources(
        attribute.Cpus > 0 ? attribute.Cpus : null,
        attribute.Gpus > 0 ? attribute.Gpus : null,
        attribute.Memory is null ? null : ParseMemory(attribute.Memory),
        attribute.GpuType);

    /// <summary>Parses <c>512MiB</c>, <c>16GiB</c>, <c>1.5GB</c> into bytes.</summary>
    /// <exception cref="StrataConfigException">No number or no known unit.</exception>
    public static long ParseMemory(string text)
    {
        var match = MemoryPattern().Match(text.Trim());
        if (!match.Success)
            throw new StrataConfigException($"Memory '{text}' is not valid; write a number and a unit: KiB, MiB, GiB, TiB (1024-based) or KB, MB, GB, TB " +
                "(1000-based), e.g. 16GiB.");
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var factor = match.Groups[2].Value switch
        {
            "KiB" => 1024d, "MiB" => 1024d * 1024, "GiB" => 1024d * 1024 * 1024, "TiB" => 1024d * 1024 * 1024 * 1024,
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, _ => 1e12,
        };
        return (long)Math.Round(value * factor);
    }

    /// <summary>Memory in whole MiB, rounded up (what most schedulers take).</summary>
    public long? MemoryMiB => MemoryBytes is { } b ? (b + 1024 * 1024 - 1) / (1024 * 1024) : null;

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*(KiB|MiB|GiB|TiB|KB|MB|GB|TB)$")]
    private static partial Regex MemoryPattern();
}
