using System.Text.Json;

namespace Strata.Containers.Tests;

/// <summary>The <c>dotnet</c> image builder against a real registry: what it builds, what it skips, and how it fails.</summary>
[Collection(ContainerServicesCollection.Name)]
public sealed class DotnetImageBuilderTests(ContainerServices services) : IDisposable
{
    private readonly TempDirectory _temp = new("strata-image-builder");

    public void Dispose() => _temp.Dispose();

    private ImageBuilder Builder() => ((ImageBuilderFlavor)FlavorRegistry.Default.Get(ComponentType.ImageBuilder, "dotnet"))
        .Create(new DotnetImageBuilderConfig(), new StrataHome(_temp.Combine("home")));

    /// <summary>A copy of the Quickstart's build output, so a test can change its code without touching the build.</summary>
    private string CopyOfQuickstart()
    {
        var source = Path.GetDirectoryName(RepoPaths.QuickstartDll())!;
        var target = _temp.Combine("quickstart");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return Path.Combine(target, "Quickstart.dll");
    }

    private ImageBuildRequest Request(string app, ContainerRegistry registry, List<string> lines, string? baseImage = null) => new()
    {
        Pipeline = "quickstart", BaseImage = baseImage ?? services.BaseImage, AppAssemblyPath = app, Registry = registry, Progress = new Lines(lines),
    };

    private async Task<JsonElement> InspectAsync(string image, bool raw = false)
    {
        var args = new List<string> { "inspect", "--tls-verify=false" };
        if (raw) args.Add("--raw");
        args.Add($"docker://{image}");
        var (code, output) = await services.ToolAsync("skopeo", [.. args]);
        Assert.True(code == 0, $"skopeo inspect {image}: {output}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private async Task<string[]> LayersAsync(string image) =>
        (await InspectAsync(image)).GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToArray();

    [Fact]
    public async Task An_image_is_built_once_and_a_code_change_pushes_only_the_app_layer()
    {
        var app = CopyOfQuickstart();
        var registry = new ContainerRegistry(services.NewRegistryUri("builder"));
        var builder = Builder();

        var firstLines = new List<string>();
        var first = await builder.BuildAsync(Request(app, registry, firstLines));
        Assert.True(first.Built);
        Assert.StartsWith($"{registry.Host}/{registry.Prefix}/quickstart:", first.Reference);
        Assert.Contains(firstLines, l => l.StartsWith("building dependency layer", StringComparison.Ordinal));
        Assert.Contains(firstLines, l => l.StartsWith("pushed app layer", StringComparison.Ordinal));

        var againLines = new List<string>();
        var again = await builder.BuildAsync(Request(app, registry, againLines));
        Assert.False(again.Built);
        Assert.Equal(0, again.PushedBytes);
        Assert.Equal(first.Reference, again.Reference);
        Assert.Contains(againLines, l => l.Contains("nothing to build", StringComparison.Ordinal));

        // A code change: the app's own assembly differs, its NuGet dependencies do not.
        await File.AppendAllTextAsync(Path.ChangeExtension(app, ".xml"), "<!-- a changed doc comment -->");
        var changedLines = new List<string>();
        var changed = await builder.BuildAsync(Request(app, registry, changedLines));
        Assert.True(changed.Built);
        Assert.NotEqual(first.Reference, changed.Reference);
        Assert.DoesNotContain(changedLines, l => l.StartsWith("building dependency layer", StringComparison.Ordinal));
        Assert.Contains(changedLines, l => l.StartsWith("dependency layer", StringComparison.Ordinal) && l.EndsWith("is in the registry", StringComparison.Ordinal));
        Assert.True(changed.PushedBytes * 10 < first.PushedBytes, $"pushed {changed.PushedBytes} bytes after a code change, {first.PushedBytes} cold");

        var firstLayers = await LayersAsync(first.Reference);
        var changedLayers = await LayersAsync(changed.Reference);
        Assert.Equal(firstLayers.Length, changedLayers.Length);
        Assert.Equal(firstLayers[..^1], changedLayers[..^1]);
        Assert.NotEqual(firstLayers[^1], changedLayers[^1]);
    }

    [Fact]
    public async Task The_image_is_a_valid_image_that_podman_pulls_and_runs_with_the_app_as_entrypoint()
    {
        var registry = new ContainerRegistry(services.NewRegistryUri("valid"));
        var image = await Builder().BuildAsync(Request(CopyOfQuickstart(), registry, []));

        var inspected = await InspectAsync(image.Reference);
        var labels = inspected.GetProperty("Labels");
        Assert.Equal("quickstart", labels.GetProperty("org.strata.pipeline").GetString());
        Assert.Equal(image.ContentHash, labels.GetProperty("org.strata.content-hash").GetString());
        Assert.True(labels.TryGetProperty("org.opencontainers.image.created", out _));
        var manifest = await InspectAsync(image.Reference, raw: true);
        Assert.Contains(manifest.GetProperty("mediaType").GetString(), new[]
        {
            "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
        });

        // The app starts from the image's entrypoint with its dependencies and answers the step verb (no artifact store given, so it says so).
        var (code, output) = await services.ToolAsync("podman", "run", "--rm", "--network", "host", "--tls-verify=false", image.Reference,
            StrataEntrypoint.Verb, "--manifest", "/nonexistent/manifest.json");
        Assert.True(code != 0, output);
        Assert.Contains("strata-step: STRATA_ARTIFACT_STORE is not set", output);
    }

    [Fact]
    public async Task A_missing_base_image_is_named_and_nothing_is_pushed()
    {
        var registry = new ContainerRegistry(services.NewRegistryUri("nobase"));
        var missing = $"{services.Registry}/strata/no-such-base:1";
        var error = await Assert.ThrowsAsync<StrataConfigException>(() => Builder().BuildAsync(Request(CopyOfQuickstart(), registry, [], missing)));
        Assert.Contains($"Base image {missing} does not exist", error.Message);
        Assert.Contains("base_image", error.Message);

        using var http = new HttpClient();
        var tags = await http.GetAsync($"http://{registry.Host}/v2/{registry.Prefix}/quickstart/tags/list");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, tags.StatusCode);
    }

    [Fact]
    public async Task An_unreachable_registry_is_named_with_its_address()
    {
        var registry = new ContainerRegistry("localhost:1/team");
        var error = await Assert.ThrowsAsync<StrataConfigException>(() => registry.CheckAsync());
        Assert.Contains("Cannot reach container registry localhost:1", error.Message);
        Assert.Contains("http://localhost:1", error.Message);
    }

    [Fact]
    public async Task A_library_is_refused_as_the_app_of_an_image()
    {
        var library = Path.Combine(Path.GetDirectoryName(CopyOfQuickstart())!, "Strata.Core.dll");
        var error = await Assert.ThrowsAsync<StrataConfigException>(() =>
            Builder().BuildAsync(Request(library, new ContainerRegistry(services.NewRegistryUri("lib")), [])));
        Assert.Contains("Strata.Core is a library, not an app", error.Message);
    }

    private sealed class Lines(List<string> lines) : IProgress<string>
    {
        public void Report(string value)
        {
            lock (lines) lines.Add(value);
        }
    }
}
