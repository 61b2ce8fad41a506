using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security;
using System.Text;

namespace Strata.Images;

public sealed class DotnetImageBuilderConfig
{
    [Description("The directory in the image that holds the app.")]
    public string WorkingDirectory { get; set; } = "/app";

    [Description("The dotnet command whose SDK builds the images; default: the one running Strata, else dotnet on PATH.")]
    public string? Dotnet { get; set; }

    [Description("The runtime identifier of the image (the platform it runs on).")]
    public string RuntimeIdentifier { get; set; } = "linux-x64";
}

/// <summary>
/// The <c>dotnet</c> image builder: builds job images with the .NET SDK's own container support (no Docker daemon, no
/// Dockerfile). An image is two layers on the base image: the app's dependencies, then the app's own assemblies, so a
/// code-only change builds and pushes only the second. Tags are content hashes, so an image the registry has is never rebuilt;
/// a tag appears only once its image is wholly pushed, so a failed push leaves nothing a later run trusts.
/// </summary>
internal sealed class DotnetImageBuilder(DotnetImageBuilderConfig config) : ImageBuilder
{
    /// <summary>Changes when the way images are laid out changes, so images of an older layout are not reused.</summary>
    private const string Layout = "strata-dotnet-image-1";

    private const int TagLength = 24;

    public override async Task<JobImage> BuildAsync(ImageBuildRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var registry = request.Registry;
        var progress = request.Progress;
        var baseImage = ImageReference.Parse(request.BaseImage);
        var baseDigest = await registry.FindManifestAsync(baseImage, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"Base image {baseImage} does not exist in registry {baseImage.Registry}; set the step operator's base_image " +
                "to an image that exists (it needs a .NET runtime the app can run on).");
        var layers = AppLayers.Read(request.AppAssemblyPath);
        var repository = RepositoryName(layers.AppName);
        var workingDirectory = config.WorkingDirectory.TrimEnd('/');
        var entrypoint = new[] { "dotnet", $"{workingDirectory}/{layers.AppName}.dll" };

        var depsHash = AppLayers.Hash(layers.Dependencies, Layout, baseImage.ToString(), baseDigest, workingDirectory, config.RuntimeIdentifier);
        var appHash = AppLayers.Hash(layers.App, Layout, depsHash, request.Pipeline, string.Join(' ', entrypoint));
        var image = registry.ImageFor(repository, appHash[..TagLength]);
        if (await registry.FindManifestAsync(image, cancellationToken).ConfigureAwait(false) is not null)
        {
            progress?.Report($"{image} is in the registry: nothing to build");
            return new JobImage(image.ToString(), appHash, false, 0);
        }

        var deps = registry.ImageFor(repository, "deps-" + depsHash[..TagLength]);
        var build = new List<Layer>();
        if (await registry.FindManifestAsync(deps, cancellationToken).ConfigureAwait(false) is null)
            build.Add(new Layer("dependency layer", layers.Dependencies, baseImage, deps, [], []));
        else
            progress?.Report($"dependency layer {deps} is in the registry");
        string[] labels =
        [
            $"org.strata.pipeline={request.Pipeline}",
            $"org.strata.content-hash={appHash}",
            $"org.opencontainers.image.created={TimeProvider.System.GetUtcNow().ToString("o", CultureInfo.InvariantCulture)}",
            $"org.opencontainers.image.base.name={baseImage}",
        ];
        build.Add(new Layer("app layer", layers.App, deps, image, entrypoint, labels));
        await BuildLayersAsync(build, request, cancellationToken).ConfigureAwait(false);
        return new JobImage(image.ToString(), appHash, true, build.Sum(l => l.Files.Sum(f => f.Size)));
    }

    /// <summary>An image to build: <see cref="From"/> plus one layer of <see cref="Files"/> in the working directory.</summary>
    private sealed record Layer(string What, IReadOnlyList<AppFile> Files, ImageReference From, ImageReference Image, string[] Entrypoint, string[] Labels);

    /// <summary>Builds and pushes the images in order (each may build on the one before), in one MSBuild process.</summary>
    private async Task BuildLayersAsync(IReadOnlyList<Layer> layers, ImageBuildRequest request, CancellationToken cancellationToken)
    {
        foreach (var layer in layers)
            request.Progress?.Report($"building {layer.What}: {layer.Files.Count} files, {Megabytes(layer.Files.Sum(f => f.Size))} on {layer.From}");
        var started = Stopwatch.GetTimestamp();
        var work = Directory.CreateTempSubdirectory("strata-image-");
        try
        {
            var publish = new List<string>();
            foreach (var layer in layers)
            {
                var dir = Directory.CreateDirectory(Path.Combine(work.FullName, $"publish{publish.Count}")).FullName;
                foreach (var file in layer.Files)
                {
                    var target = Path.Combine(dir, file.RelativePath);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file.FullPath, target);
                }
                publish.Add(dir);
            }
            var project = Path.Combine(work.FullName, "image.proj");
            await File.WriteAllTextAsync(project, ProjectFor(layers, publish), cancellationToken).ConfigureAwait(false);
            await RunMsbuildAsync(project, request, layers[^1].Image, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        foreach (var layer in layers)
            request.Progress?.Report($"pushed {layer.What} of {layer.Image}: {Megabytes(layer.Files.Sum(f => f.Size))}" +
                $"{(layer == layers[^1] ? $" ({(layers.Count == 1 ? "" : "all layers ")}in {seconds:0.0} s)" : "")}");
    }

    private string ProjectFor(IReadOnlyList<Layer> layers, IReadOnlyList<string> publish)
    {
        static string X(string s) => SecurityElement.Escape(s);
        var text = new StringBuilder();
        text.AppendLine("<Project>");
        text.AppendLine("  <UsingTask TaskName=\"Microsoft.NET.Build.Containers.Tasks.CreateNewImage\" Runtime=\"NET\"");
        // The SDK keeps the task in Containers/tasks/netN.0/; the one SDK running this build has one such folder.
        text.AppendLine("             AssemblyFile=\"$([System.IO.Directory]::GetFiles('$(MSBuildBinPath)/Containers/tasks', " +
            "'Microsoft.NET.Build.Containers.dll', System.IO.SearchOption.AllDirectories))\" />");
        text.AppendLine("  <ItemGroup>");
        for (var i = 0; i < layers.Count; i++)
        {
            foreach (var part in layers[i].Entrypoint) text.AppendLine($"    <Entrypoint{i} Include=\"{X(part)}\" />");
            foreach (var label in layers[i].Labels)
            {
                var eq = label.IndexOf('=', StringComparison.Ordinal);
                text.AppendLine($"    <Label{i} Include=\"{X(label[..eq])}\" Value=\"{X(label[(eq + 1)..])}\" />");
            }
        }
        text.AppendLine("  </ItemGroup>");
        text.AppendLine("  <Target Name=\"Build\">");
        for (var i = 0; i < layers.Count; i++)
        {
            var (from, image) = (layers[i].From, layers[i].Image);
            (string Name, string Value)[] parameters =
            [
                ("BaseRegistry", X(from.Registry)), ("BaseImageName", X(from.Repository)), ("BaseImageTag", X(from.Tag ?? "")),
                ("BaseImageDigest", X(from.Digest ?? "")), ("OutputRegistry", X(image.Registry)), ("Repository", X(image.Repository)),
                ("ImageTags", X(image.Tag!)), ("PublishDirectory", X(publish[i]) + "/"), ("WorkingDirectory", X(config.WorkingDirectory)),
                ("Entrypoint", $"@(Entrypoint{i})"), ("Labels", $"@(Label{i})"), ("ContainerRuntimeIdentifier", X(config.RuntimeIdentifier)),
                ("RuntimeIdentifierGraphPath", "$(MSBuildBinPath)/RuntimeIdentifierGraph.json"), ("GenerateLabels", "true"), ("GenerateDigestLabel", "false"),
            ];
            text.AppendLine("    <CreateNewImage");
            foreach (var (name, value) in parameters) text.AppendLine($"        {name}=\"{value}\"");
            text.AppendLine("    />");
        }
        text.AppendLine("  </Target>");
        text.AppendLine("</Project>");
        return text.ToString();
    }

    private async Task RunMsbuildAsync(string project, ImageBuildRequest request, ImageReference image, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(DotnetCommand())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(project)!,
        };
        foreach (var argument in (string[])["msbuild", project, "-nologo", "-noAutoResponse", "-nodeReuse:false", "-v:m", "-clp:NoSummary"])
            start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        var registry = request.Registry;
        var insecure = new[] { image.Registry }.Where(registry.UsesHttp).ToList();
        if (insecure.Count > 0) start.Environment["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = string.Join(';', insecure);
        if (registry.Username is { Length: > 0 })
        {
            start.Environment["DOTNET_CONTAINER_REGISTRY_UNAME"] = registry.Username;
            start.Environment["DOTNET_CONTAINER_REGISTRY_PWORD"] = registry.Password ?? "";
        }
        using var process = Process.Start(start)
            ?? throw new StrataConfigException($"Could not start {start.FileName} to build the job image.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = (await output.ConfigureAwait(false)) + (await errors.ConfigureAwait(false));
        if (process.ExitCode != 0)
        {
            var problems = text.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Distinct().Take(10)
                .Select(l => l.Replace(project, "", StringComparison.Ordinal).TrimStart(':', ' ')).ToArray();
            throw new StrataConfigException($"Building job image {image} failed: " +
                $"{(problems.Length == 0 ? text.Trim() : string.Join(Environment.NewLine, problems))}");
        }
    }

    private string DotnetCommand()
    {
        if (config.Dotnet is { Length: > 0 } configured) return configured;
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
        return "dotnet";
    }

    /// <summary>A repository name from the app's name: lower case, letters, digits, '.', '_' and '-'.</summary>
    private static string RepositoryName(string appName)
    {
        var name = new string(appName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray())
            .Trim('.', '_', '-');
        return name.Length == 0 ? "app" : name;
    }

    private static string Megabytes(long bytes) => $"{bytes / 1048576.0:0.0} MB";
}

internal sealed class DotnetImageBuilderFlavor : ImageBuilderFlavor
{
    public override string Name => "dotnet";
    public override string Description => "Builds job images with the .NET SDK's container support: no Docker daemon, no Dockerfile; the app's " +
        "dependencies and its own code in separate layers, tagged by content.";
    public override Type ConfigType => typeof(DotnetImageBuilderConfig);

    public override ImageBuilder Create(object config, StrataHome home) => new DotnetImageBuilder((DotnetImageBuilderConfig)config);
}
