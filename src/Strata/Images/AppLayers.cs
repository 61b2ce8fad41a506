using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Strata.Images;

/// <summary>One file of the app's build output, by its path relative to the output directory.</summary>
internal sealed record AppFile(string RelativePath, string FullPath, long Size, string Hash);

/// <summary>
/// The app's build output split into the two layers of a job image: the dependencies (NuGet packages, native assets),
/// which change rarely, and the app's own assemblies (its projects), which change with every code edit. A code-only change
/// then rebuilds and pushes only the small app layer.
/// </summary>
internal sealed record AppLayers(string Directory, string AppName, IReadOnlyList<AppFile> Dependencies, IReadOnlyList<AppFile> App)
{
    /// <exception cref="StrataConfigException">The assembly is missing or is not an app (no runtimeconfig.json beside it).</exception>
    public static AppLayers Read(string appAssemblyPath)
    {
        var path = Path.GetFullPath(appAssemblyPath);
        var directory = Path.GetDirectoryName(path)!;
        var name = Path.GetFileNameWithoutExtension(path);
        if (!File.Exists(path))
            throw new StrataConfigException($"The app to put in the job image, {path}, does not exist.");
        if (!File.Exists(Path.Combine(directory, name + ".runtimeconfig.json")))
            throw new StrataConfigException($"{name} is a library, not an app ({name}.runtimeconfig.json is missing beside {path}); a job image runs an app: " +
                "define the pipeline in an executable project whose Main starts with StrataEntrypoint.TryRunAsync(args).");
        var own = OwnFiles(directory, name);
        var dependencies = new List<AppFile>();
        var app = new List<AppFile>();
        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            var info = new FileInfo(file);
            var entry = new AppFile(relative, file, info.Length, HashFile(file));
            (own.Contains(Stem(relative)) ? app : dependencies).Add(entry);
        }
        dependencies.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        app.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return new AppLayers(directory, name, dependencies, app);
    }

    /// <summary>A hash over the files' paths and contents and the given parts, as lower-case hex.</summary>
    public static string Hash(IEnumerable<AppFile> files, params string[] parts)
    {
        var hash = new XxHash128();
        foreach (var part in parts) hash.Append(Encoding.UTF8.GetBytes(part + "\n"));
        foreach (var file in files) hash.Append(Encoding.UTF8.GetBytes($"{file.RelativePath}\0{file.Hash}\n"));
        return Hex.Lower(hash.GetCurrentHash());
    }

    /// <summary>The stems (file names without extension) of the app's own files: the app and the assemblies of its projects.</summary>
    private static HashSet<string> OwnFiles(string directory, string name)
    {
        var own = new HashSet<string>(StringComparer.Ordinal) { name };
        var depsJson = Path.Combine(directory, name + ".deps.json");
        if (!File.Exists(depsJson)) return own;
        using var deps = JsonDocument.Parse(File.ReadAllBytes(depsJson));
        if (!deps.RootElement.TryGetProperty("libraries", out var libraries) || !deps.RootElement.TryGetProperty("targets", out var targets)) return own;
        var projects = libraries.EnumerateObject().Where(l => l.Value.TryGetProperty("type", out var t) && t.GetString() == "project")
            .Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var target in targets.EnumerateObject())
            foreach (var library in target.Value.EnumerateObject().Where(l => projects.Contains(l.Name)))
                if (library.Value.TryGetProperty("runtime", out var runtime))
                    foreach (var asset in runtime.EnumerateObject())
                        own.Add(Path.GetFileNameWithoutExtension(asset.Name));
        return own;
    }

    /// <summary><c>App.dll</c>, <c>App.pdb</c>, <c>App.deps.json</c> and the app host <c>App</c> all have the stem <c>App</c>.</summary>
    private static string Stem(string relative)
    {
        if (relative.Contains('/', StringComparison.Ordinal)) return "";
        foreach (var suffix in (string[])[".deps.json", ".runtimeconfig.json", ".dll", ".pdb", ".xml", ".exe"])
            if (relative.EndsWith(suffix, StringComparison.Ordinal)) return relative[..^suffix.Length];
        return relative;
    }

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var hash = new XxHash128();
        hash.Append(stream);
        return Hex.Lower(hash.GetCurrentHash());
    }
}
