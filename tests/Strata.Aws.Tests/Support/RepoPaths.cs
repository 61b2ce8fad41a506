namespace Strata.Aws.Tests.Support;

/// <summary>Paths in the repository the tests run from.</summary>
internal static class RepoPaths
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds Strata.slnx.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Where eng/aws/setup.sh installs the npm test tools.</summary>
    public static string NodeModules => Path.Combine(Root, ".test", "node_modules");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Strata.slnx above {AppContext.BaseDirectory}.");
    }
}
