using Strata.Tests.Support;

namespace Strata.Tests;

/// <summary>What .editorconfig asks of the shipped code that the compiler does not check itself.</summary>
public sealed class HouseStyleTests
{
    private const int MaxLineLength = 160;

    [Fact]
    public void No_line_of_the_shipped_code_is_longer_than_the_editorconfig_allows()
    {
        var src = Path.Combine(RepoPaths.Root, "src");
        var tooLong = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.EndsWith(".g.cs", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, line.Length)))
            .Where(l => l.Length > MaxLineLength)
            .Select(l => $"{Path.GetRelativePath(RepoPaths.Root, l.File)}:{l.Line} ({l.Length} characters)")
            .ToArray();

        Assert.True(tooLong.Length == 0, $"lines over {MaxLineLength} characters (break them up):{Environment.NewLine}{string.Join(Environment.NewLine, tooLong)}");
    }
}
