namespace Strata.Tests.Support;

/// <summary>Paths in the repository the tests run from; shared by the test projects that need them.</summary>
public static class RepoPaths
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds Strata.slnx.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration the tests were built in (bin/&lt;Configuration&gt;/net10.0/).</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>Where eng/aws/setup.sh installs the npm test tools.</summary>
    public static string NodeModules => Path.Combine(Root, ".test", "node_modules");

    /// <summary>The example app, built in the tests' configuration (the solution build builds it).</summary>
    public static string QuickstartDll()
    {
        var dll = Path.Combine(Root, "examples", "Quickstart", "bin", Configuration, "net10.0", "Quickstart.dll");
        Xunit.Assert.True(File.Exists(dll), $"{dll} is missing: build examples/Quickstart (or the solution) with -c {Configuration} first");
        return dll;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Strata.slnx above {AppContext.BaseDirectory}.");
    }
}
