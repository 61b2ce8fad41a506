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

    /// <summary>
    /// The <c>strata</c> command as built in its own project (a test project that references Strata.Cli builds it first). Not the
    /// copy beside the tests: a test project that also uses ASP.NET Core (an emulator) has its shared framework stand in for
    /// packages such as Microsoft.Extensions.Logging.Abstractions, which a plain .NET process needs as files.
    /// </summary>
    public static string StrataDll => Path.Combine(Root, "src", "Strata.Cli", "bin", Configuration, "net10.0", "strata.dll");

    /// <summary>The <c>dotnet</c> host running the tests (or the one DOTNET_ROOT or PATH names), to start .NET programs with.</summary>
    public static string Dotnet()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "dotnet"))) return Path.Combine(dir, "dotnet");
        return "dotnet";
    }

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
