using Strata.Tests.Support;

namespace Strata.Tests.Images;

/// <summary>How an app's build output is split into the dependency layer and the app's own layer of a job image.</summary>
public sealed class AppLayersTests : IDisposable
{
    private readonly TempDirectory _temp = new("strata-app-layers");

    public void Dispose() => _temp.Dispose();

    private string App()
    {
        var dir = _temp.Combine("bin");
        Directory.CreateDirectory(Path.Combine(dir, "runtimes", "linux-x64", "native"));
        foreach (var file in new[] { "App.dll", "App.pdb", "App", "App.runtimeconfig.json", "Lib.dll", "Lib.xml", "Newtonsoft.Json.dll",
            "runtimes/linux-x64/native/libe_sqlite3.so" })
            File.WriteAllText(Path.Combine(dir, file), file);
        // App references the project Lib and the package Newtonsoft.Json.
        File.WriteAllText(Path.Combine(dir, "App.deps.json"), """
            {
              "targets": { ".NETCoreApp,Version=v10.0": {
                "App/1.0.0": { "runtime": { "App.dll": {} } },
                "Lib/1.0.0": { "runtime": { "Lib.dll": {} } },
                "Newtonsoft.Json/13.0.3": { "runtime": { "lib/net6.0/Newtonsoft.Json.dll": {} } }
              } },
              "libraries": {
                "App/1.0.0": { "type": "project" },
                "Lib/1.0.0": { "type": "project" },
                "Newtonsoft.Json/13.0.3": { "type": "package" }
              }
            }
            """);
        return Path.Combine(dir, "App.dll");
    }

    [Fact]
    public void The_apps_own_assemblies_are_one_layer_and_its_packages_another()
    {
        var layers = AppLayers.Read(App());
        Assert.Equal("App", layers.AppName);
        Assert.Equal(["App", "App.deps.json", "App.dll", "App.pdb", "App.runtimeconfig.json", "Lib.dll", "Lib.xml"],
            layers.App.Select(f => f.RelativePath));
        Assert.Equal(["Newtonsoft.Json.dll", "runtimes/linux-x64/native/libe_sqlite3.so"], layers.Dependencies.Select(f => f.RelativePath));
    }

    [Fact]
    public void A_change_to_the_apps_code_changes_its_layers_hash_and_not_the_dependencies()
    {
        var app = App();
        var before = AppLayers.Read(app);
        File.AppendAllText(Path.Combine(Path.GetDirectoryName(app)!, "Lib.dll"), "changed");
        var after = AppLayers.Read(app);
        Assert.Equal(AppLayers.Hash(before.Dependencies), AppLayers.Hash(after.Dependencies));
        Assert.NotEqual(AppLayers.Hash(before.App), AppLayers.Hash(after.App));
    }

    [Fact]
    public void A_library_is_not_an_app()
    {
        var app = App();
        File.Delete(Path.ChangeExtension(app, ".runtimeconfig.json"));
        Assert.Contains("App is a library, not an app", Assert.Throws<StrataConfigException>(() => AppLayers.Read(app)).Message);
    }
}
