using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>
/// The README's way to install the command as a tool: `dotnet pack src/Strata.Cli` makes a package of plain, portable IL whose tool is
/// `strata`, and packing leaves the precompiled Release build beside it as it was.
/// </summary>
public sealed class ToolPackageTests
{
    [Fact]
    public async Task Packing_the_cli_gives_a_plain_il_tool_package_that_installs_and_runs_and_leaves_the_release_build_precompiled()
    {
        using var dir = new TempDirectory("strata-pack");
        var build = Path.GetDirectoryName(RepoPaths.StrataDll)!;
        var watched = new[] { "strata.dll", "Strata.Core.dll" }.ToDictionary(f => f, f => Hash(Path.Combine(build, f)));
        var precompiled = RepoPaths.Configuration == "Release";
        if (precompiled) Assert.True(IsReadyToRun(Path.Combine(build, "strata.dll")), "the Release build of the CLI is precompiled");

        var (code, output) = await LocalServers.RunAsync("dotnet",
            ["pack", Path.Combine(RepoPaths.Root, "src", "Strata.Cli"), "-c", RepoPaths.Configuration, "-o", dir.Combine("nupkg"), "-nologo"]);
        Assert.True(code == 0, output);

        foreach (var (file, hash) in watched) Assert.True(hash == Hash(Path.Combine(build, file)), $"dotnet pack replaced {file} of the build");
        var package = Assert.Single(Directory.GetFiles(dir.Combine("nupkg"), "Strata.Cli.*.nupkg"));
        var unpacked = dir.Combine("unpacked");
        ZipFile.ExtractToDirectory(package, unpacked);
        var tool = Path.Combine(unpacked, "tools", "net10.0", "any");
        Assert.Contains("Command Name=\"strata\" EntryPoint=\"strata.dll\"", File.ReadAllText(Path.Combine(tool, "DotnetToolSettings.xml")));
        foreach (var assembly in new[] { "strata.dll", "Strata.Core.dll", "Strata.Kubernetes.dll" })
            Assert.False(IsReadyToRun(Path.Combine(tool, assembly)), $"{assembly} in the package is precompiled for one platform");

        (code, output) = await LocalServers.RunAsync("dotnet",
            ["tool", "install", "Strata.Cli", "--tool-path", dir.Combine("tools"), "--add-source", dir.Combine("nupkg")]);
        Assert.True(code == 0, output);
        (code, output) = await LocalServers.RunAsync(Path.Combine(dir.Combine("tools"), "strata"), ["step-operator", "flavor", "list"],
            new Dictionary<string, string> { ["STRATA_HOME"] = dir.Combine("home") });
        Assert.True(code == 0, output);
        Assert.Contains("kubernetes", output);
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>A ReadyToRun image carries a managed native header in its CLI header; plain IL does not.</summary>
    private static bool IsReadyToRun(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        return pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }
}
