using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Images;
using Strata.Stacks;
using Strata.Store;

namespace Strata.Bench;

/// <summary>
/// P7: the Quickstart's job image built and pushed by the <c>dotnet</c> image builder, against <c>podman build</c> of the
/// equivalent Dockerfile (same base, same build output in /app, same entrypoint) and <c>podman push</c> to the same registry.
/// Each repetition uses fresh repositories, so neither side finds its image in the registry; the two sides take turns.
/// </summary>
internal static class ImageBuild
{
    public static async Task<(List<Row>, JsonObject)> RunAsync(BenchContext context)
    {
        var reps = context.RepsOr(5);
        var env = await ServicesAsync(context);
        var baseImage = env["STRATA_TEST_BASE_IMAGE"];
        var registryHost = env["STRATA_TEST_REGISTRY"];
        var work = context.WorkDir("p7");
        var source = Path.Combine(context.Paths.Repo, "examples", "Quickstart", "bin", "Release", "net10.0");
        if (!File.Exists(Path.Combine(source, "Quickstart.dll")))
            throw new InvalidOperationException($"{source}/Quickstart.dll is missing: build examples/Quickstart -c Release (bench/run.sh does)");
        var builder = ((ImageBuilderFlavor)FlavorRegistry.Default.Get(ComponentType.ImageBuilder, "dotnet"))
            .Create(new DotnetImageBuilderConfig(), new StrataHome(Path.Combine(work, "home")));

        var m = new Dictionary<string, List<double>>
        {
            ["strata_cold"] = [], ["podman_cold"] = [], ["strata_change"] = [], ["podman_change"] = [], ["strata_unchanged"] = [], ["podman_unchanged"] = [],
        };
        var pushed = new Dictionary<string, List<long>> { ["cold"] = [], ["change"] = [], ["unchanged"] = [] };
        for (var rep = 0; rep < reps; rep++)
        {
            var id = Guid.NewGuid().ToString("N")[..8];
            var app = CopyApp(source, Path.Combine(work, $"app-{rep}"));
            var registry = new ContainerRegistry($"{registryHost}/p7-strata-{id}");
            var request = new ImageBuildRequest { Pipeline = "quickstart", BaseImage = baseImage, AppAssemblyPath = Path.Combine(app, "Quickstart.dll"), Registry = registry };
            var podmanImage = $"{registryHost}/p7-podman-{id}/quickstart";
            await File.WriteAllTextAsync(Path.Combine(work, $"Dockerfile-{rep}"),
                $"FROM {baseImage}\nCOPY . /app/\nWORKDIR /app\nENTRYPOINT [\"dotnet\", \"/app/Quickstart.dll\"]\n");
            var dockerfile = Path.Combine(work, $"Dockerfile-{rep}");

            async Task<double> Strata(string phase)
            {
                var clock = Stopwatch.StartNew();
                var image = await builder.BuildAsync(request);
                var seconds = clock.Elapsed.TotalSeconds;
                pushed[phase].Add(image.PushedBytes);
                if (phase == "unchanged" && (image.Built || image.PushedBytes != 0))
                    throw new InvalidOperationException($"an unchanged app was built again ({image.Reference}, {image.PushedBytes} bytes pushed)");
                return seconds;
            }
            Task<double> Podman(string tag, bool noCache) => PodmanBuildPushAsync(env, dockerfile, app, $"{podmanImage}:{tag}", noCache);

            // Cold: the sides alternate who goes first.
            if (rep % 2 == 0) { m["strata_cold"].Add(await Strata("cold")); m["podman_cold"].Add(await Podman("cold", noCache: true)); }
            else { m["podman_cold"].Add(await Podman("cold", noCache: true)); m["strata_cold"].Add(await Strata("cold")); }

            // A one-line code change: the app's own files change, its dependencies do not.
            await File.AppendAllTextAsync(Path.Combine(app, "Quickstart.xml"), $"<!-- change {rep} -->\n");
            m["strata_change"].Add(await Strata("change"));
            m["podman_change"].Add(await Podman("change", noCache: false));

            m["strata_unchanged"].Add(await Strata("unchanged"));
            m["podman_unchanged"].Add(await Podman("unchanged", noCache: false));
            Console.Error.WriteLine($"    rep {rep + 1}/{reps}: cold {m["strata_cold"][^1]:0.00} s vs podman {m["podman_cold"][^1]:0.00} s; " +
                $"change {m["strata_change"][^1]:0.00} s vs {m["podman_change"][^1]:0.00} s; unchanged {m["strata_unchanged"][^1]:0.000} s vs " +
                $"{m["podman_unchanged"][^1]:0.00} s; pushed {pushed["cold"][^1] / 1048576.0:0.0} / {pushed["change"][^1] / 1048576.0:0.0} MB");
            Program.TryDelete(app);
        }

        var rows = new List<Row>
        {
            Row.Paired("P7", "cold: build + push of the Quickstart's job image", m["strata_cold"], "s", m["podman_cold"], "podman build --no-cache + push", 1,
                "≤ 1× podman"),
            Row.Paired("P7", "after a one-line code change: build + push", m["strata_change"], "s", m["podman_change"], "podman build + push", 0.5,
                "≤ 0.5× podman"),
            Row.Absolute("P7", "after a one-line code change: build + push (median)", Stats.Median(m["strata_change"]), "s", null, "", 3, "≤ 3 s"),
            Row.Absolute("P7", "unchanged: deciding that nothing is built or pushed (median)", Stats.Median(m["strata_unchanged"]), "s",
                Stats.Median(m["podman_unchanged"]), "podman build (cached) + push", 0.5, "≤ 0.5 s"),
            Row.Info("P7", "bytes pushed cold / after the change / unchanged (median, MB)", Stats.Median(pushed["cold"].Select(b => b / 1048576.0).ToArray()), "MB",
                note: $"{Stats.Median(pushed["change"].Select(b => b / 1048576.0).ToArray()):0.0} MB after the change, " +
                    $"{pushed["unchanged"].Max()} bytes unchanged"),
        };
        var details = new JsonObject(m.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)Stats.Array(e.Value))))
        {
            ["base_image"] = baseImage,
            ["note"] = "same registry (docker-registry on loopback), same base image and build output; fresh repositories per repetition",
        };
        return (rows, details);
    }

    /// <summary>Starts the local registry and podman's service (idempotent) and returns their environment.</summary>
    private static async Task<Dictionary<string, string>> ServicesAsync(BenchContext context)
    {
        var (exit, _) = await Exec.RunAsync("bash", [Path.Combine(context.Paths.Repo, "eng", "containers", "services.sh"), "start"], captureOutput: false);
        if (exit != 0) throw new InvalidOperationException("eng/containers/services.sh start failed");
        var dir = Environment.GetEnvironmentVariable("STRATA_CONTAINERS_DIR") is { Length: > 0 } d ? d : "/tmp/strata-containers";
        return File.ReadAllLines(Path.Combine(dir, "env")).Where(l => l.StartsWith("export ", StringComparison.Ordinal))
            .Select(l => l[7..].Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('\''));
    }

    private static async Task<double> PodmanBuildPushAsync(Dictionary<string, string> env, string dockerfile, string contextDir, string image, bool noCache)
    {
        var clock = Stopwatch.StartNew();
        string[] build = ["build", "--network=none", "-q", "-f", dockerfile, "-t", image, .. noCache ? new[] { "--no-cache" } : [], contextDir];
        var (buildExit, _) = await Exec.RunAsync("podman", build, captureOutput: true, env);
        if (buildExit != 0) throw new InvalidOperationException($"podman build of {image} failed ({buildExit})");
        var (pushExit, _) = await Exec.RunAsync("podman", ["push", "-q", image], captureOutput: true, env);
        if (pushExit != 0) throw new InvalidOperationException($"podman push of {image} failed ({pushExit})");
        return clock.Elapsed.TotalSeconds;
    }

    private static string CopyApp(string source, string target)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to, overwrite: true);
        }
        return target;
    }
}
