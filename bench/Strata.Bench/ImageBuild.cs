using System.Diagnostics;
using System.IO.Hashing;
using System.Text.Json.Nodes;
using Strata.Images;
using Strata.Stacks;
using Strata.Store;

namespace Strata.Bench;

/// <summary>
/// P7: the Quickstart's job image built and pushed by the <c>dotnet</c> image builder, against <c>podman build</c> of the
/// equivalent Dockerfile (same base, same build output in /app, same entrypoint) and <c>podman push</c> to the same registry.
/// Each repetition uses fresh repositories, so neither side finds its image in the registry; in every case the two sides
/// take turns at going first, so each pair saw the same load. Strata's time is split into the decision (hashing the files
/// and the registry's manifest HEADs) and the build (the MSBuild process that assembles and pushes the layers).
/// </summary>
internal static class ImageBuild
{
    private static readonly string[] Cases = ["cold", "change", "unchanged"];

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
        // The Dockerfile lives outside the build context, as the context is exactly the app's build output.
        var dockerfile = Path.Combine(work, "Dockerfile");
        await File.WriteAllTextAsync(dockerfile, $"FROM {baseImage}\nCOPY . /app/\nWORKDIR /app\nENTRYPOINT [\"dotnet\", \"/app/Quickstart.dll\"]\n");
        var noop = Path.Combine(work, "noop.proj");
        await File.WriteAllTextAsync(noop, "<Project>\n  <Target Name=\"Build\" />\n</Project>\n");

        var loadBefore = LoadAverage();
        var strata = Cases.ToDictionary(c => c, _ => new List<double>());
        var podman = Cases.ToDictionary(c => c, _ => new List<double>());
        var pushed = Cases.ToDictionary(c => c, _ => new List<long>());
        var decide = Cases.ToDictionary(c => c, _ => new List<double>());
        var build = Cases.ToDictionary(c => c, _ => new List<double>());
        var hash = new List<double>();
        var head = new List<double>();
        var msbuildStart = new List<double>();
        for (var rep = 0; rep < reps; rep++)
        {
            var id = Guid.NewGuid().ToString("N")[..8];
            var app = CopyApp(source, Path.Combine(work, $"app-{rep}"));
            var registry = new ContainerRegistry($"{registryHost}/p7-strata-{id}");
            var podmanImage = $"{registryHost}/p7-podman-{id}/quickstart";
            var strataFirst = rep % 2 == 0;
            string? reference = null;

            async Task Pair(string phase, bool noCache)
            {
                async Task Ours()
                {
                    var timeline = new Timeline();
                    var request = new ImageBuildRequest
                    {
                        Pipeline = "quickstart", BaseImage = baseImage, AppAssemblyPath = Path.Combine(app, "Quickstart.dll"), Registry = registry,
                        Progress = timeline,
                    };
                    var clock = Stopwatch.StartNew();
                    var image = await builder.BuildAsync(request);
                    var seconds = clock.Elapsed.TotalSeconds;
                    if (phase == "unchanged" && (image.Built || image.PushedBytes != 0))
                        throw new InvalidOperationException($"an unchanged app was built again ({image.Reference}, {image.PushedBytes} bytes pushed)");
                    if (phase != "unchanged" && !image.Built)
                        throw new InvalidOperationException($"the {phase} build found {image.Reference} in a fresh repository");
                    strata[phase].Add(seconds);
                    pushed[phase].Add(image.PushedBytes);
                    // Until the first "building" line: the files hashed and the manifests looked up; after it, the MSBuild process.
                    var decided = timeline.FirstAt("building ") ?? seconds;
                    decide[phase].Add(decided);
                    build[phase].Add(seconds - decided);
                    reference = image.Reference;
                }
                async Task Theirs() => podman[phase].Add(await PodmanBuildPushAsync(env, dockerfile, app, $"{podmanImage}:{phase}", noCache));

                if (strataFirst) { await Ours(); await Theirs(); }
                else { await Theirs(); await Ours(); }
            }

            // Cold: nothing of this app in either repository; podman may not reuse a layer it built before.
            await Pair("cold", noCache: true);
            // A one-line code change: the app's own files change, its dependencies do not. podman re-runs the COPY (its
            // content changed) on its cached base; Strata builds and pushes only the app layer.
            await File.AppendAllTextAsync(Path.Combine(app, "Quickstart.xml"), $"<!-- change {rep} -->\n");
            await Pair("change", noCache: false);
            // Nothing changed: Strata must find its image and push nothing; podman builds from cache and pushes what the registry has.
            await Pair("unchanged", noCache: false);

            // The parts of Strata's time, measured on their own right after the pairs (not inside the timed builds).
            hash.Add(TimeHashing(app));
            var image = ImageReference.Parse(reference!);
            var clock = Stopwatch.StartNew();
            if (await registry.FindManifestAsync(image) is null) throw new InvalidOperationException($"{image} is not in the registry");
            head.Add(clock.Elapsed.TotalSeconds);
            msbuildStart.Add(await Exec.TimeAsync(DotnetCommand(), ["msbuild", noop, "-nologo", "-noAutoResponse", "-nodeReuse:false", "-v:m", "-clp:NoSummary"],
                new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["MSBUILDDISABLENODEREUSE"] = "1" }));

            Console.Error.WriteLine($"    rep {rep + 1}/{reps} ({(strataFirst ? "Strata" : "podman")} first): " +
                $"cold {strata["cold"][^1]:0.00} s vs podman {podman["cold"][^1]:0.00} s; change {strata["change"][^1]:0.00} s vs {podman["change"][^1]:0.00} s; " +
                $"unchanged {strata["unchanged"][^1]:0.000} s vs {podman["unchanged"][^1]:0.00} s; " +
                $"Strata pushed {Mb(pushed["cold"][^1]):0.0} MB / {Mb(pushed["change"][^1]):0.0} MB / {pushed["unchanged"][^1]} bytes");
            Program.TryDelete(app);
            // podman's images are not needed again (the next repetition's cold build may not use them); keep its storage from growing.
            await Exec.RunAsync("podman", ["rmi", "-f", .. Cases.Select(c => $"{podmanImage}:{c}")], captureOutput: true, env);
        }

        var rows = new List<Row>
        {
            Paired("cold: build + push of the Quickstart's job image", "cold", "podman build --no-cache + push", 1, "≤ 1× podman"),
            Paired("after a one-line code change: build + push", "change", "podman build + push", 0.5, "≤ 0.5× podman"),
            Row.Absolute("P7", "after a one-line code change: build + push (median)", Stats.Median(strata["change"]), "s", null, "", 3, "≤ 3 s",
                note: Range(strata["change"], "s")),
            Row.Absolute("P7", "unchanged: deciding that nothing is built or pushed (median)", Stats.Median(strata["unchanged"]), "s",
                Stats.Median(podman["unchanged"]), "podman build (cached) + push; ratio for information", 0.5, "≤ 0.5 s, nothing pushed",
                note: $"nothing built or pushed in {reps} of {reps}; Strata {Range(strata["unchanged"], "s")}, podman {Range(podman["unchanged"], "s")}"),
        };
        foreach (var c in Cases)
            rows.Add(Row.Info("P7", $"bytes pushed by Strata: {Label(c)} (median)", Stats.Median(pushed[c].Select(b => (double)b).ToArray()) / 1e6, "MB",
                note: $"{pushed[c].Min()}–{pushed[c].Max()} bytes"));

        var details = new JsonObject
        {
            ["base_image"] = baseImage,
            ["load_average_before_after"] = $"{loadBefore} / {LoadAverage()}",
            ["app_files"] = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Count(),
            ["note"] = "same registry (docker-registry on loopback), same base image and build output; fresh repositories per repetition; " +
                "the sides alternate going first; the *_decide_s/*_build_s split is taken at Strata's first 'building' progress line",
        };
        foreach (var c in Cases)
        {
            details[$"strata_{c}"] = Stats.Array(strata[c]);
            details[$"podman_{c}"] = Stats.Array(podman[c]);
            details[$"strata_{c}_decide_s"] = Stats.Array(decide[c]);
            details[$"strata_{c}_build_s"] = Stats.Array(build[c]);
            details[$"strata_{c}_pushed_bytes"] = new JsonArray(pushed[c].Select(b => (JsonNode)JsonValue.Create(b)).ToArray());
        }
        details["hash_app_files_s"] = Stats.Array(hash);
        details["manifest_head_s"] = Stats.Array(head);
        details["msbuild_noop_process_s"] = Stats.Array(msbuildStart);
        return (rows, details);

        Row Paired(string figure, string c, string baselineName, double limit, string target)
        {
            var row = Row.Paired("P7", figure, strata[c], "s", podman[c], baselineName, limit, target);
            return row with { Note = $"{row.Note}; Strata {Range(strata[c], "s")}, podman {Range(podman[c], "s")}" };
        }
    }

    /// <summary>Where Strata's time goes in each case (medians), printed under the table.</summary>
    public static string Text(JsonObject details)
    {
        if (details["strata_cold"] is null) return "";
        double M(string key) => Stats.Median(details[key]!.AsArray().Select(v => v!.GetValue<double>()).ToArray());
        var lines = new List<string>
        {
            "P7 breakdown of Strata's time (medians): 'decide' is reading and hashing the app's files and the registry's manifest HEADs " +
            "(base image, image, dependency image); 'build + push' is the copy to a work dir and the MSBuild process that assembles and pushes the layers.",
            Format.Table(["case", "total", "decide", "build + push", "podman"], Cases.Select(c => (IReadOnlyList<string>)
            [
                Label(c), Format.Value(M($"strata_{c}"), "s"), Format.Value(M($"strata_{c}_decide_s"), "s"), Format.Value(M($"strata_{c}_build_s"), "s"),
                Format.Value(M($"podman_{c}"), "s"),
            ])),
            $"Measured apart: hashing the app's {details["app_files"] ?? "build output's"} files {Format.Value(M("hash_app_files_s"), "s")}, " +
            $"one manifest HEAD {Format.Value(M("manifest_head_s"), "s")}, an MSBuild process that does nothing {Format.Value(M("msbuild_noop_process_s"), "s")}. " +
            $"Load average (1 min) before / after: {details["load_average_before_after"]} on {Environment.ProcessorCount} cores.",
        };
        return string.Join(Environment.NewLine, lines);
    }

    private static string Label(string c) => c switch
    {
        "cold" => "cold",
        "change" => "after a one-line code change",
        _ => "unchanged",
    };

    private static string Range(IReadOnlyList<double> values, string unit) => $"{Format.Value(values.Min(), unit)}–{Format.Value(values.Max(), unit)}";

    /// <summary>The 1-minute load average (the machine is shared: read the figures with it), or "?" off Linux.</summary>
    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static double Mb(long bytes) => bytes / 1e6;

    /// <summary>Progress lines with the time they were reported (synchronously, unlike <see cref="Progress{T}"/>).</summary>
    private sealed class Timeline : IProgress<string>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<(double At, string Line)> _lines = [];

        public void Report(string value)
        {
            lock (_lines) _lines.Add((_clock.Elapsed.TotalSeconds, value));
        }

        public double? FirstAt(string prefix)
        {
            lock (_lines)
                return _lines.Where(l => l.Line.StartsWith(prefix, StringComparison.Ordinal)).Select(l => (double?)l.At).FirstOrDefault();
        }
    }

    /// <summary>What the builder does to decide: every file of the build output read and hashed (XxHash128, as the builder does).</summary>
    private static double TimeHashing(string app)
    {
        var clock = Stopwatch.StartNew();
        foreach (var file in Directory.EnumerateFiles(app, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var hash = new XxHash128();
            hash.Append(stream);
            _ = hash.GetCurrentHash();
        }
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The dotnet the builder starts MSBuild with when none is configured: the one running this program.</summary>
    private static string DotnetCommand() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";

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
