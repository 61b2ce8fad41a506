using System.Diagnostics;
using System.Globalization;
using Strata;
using Strata.Bench.Slurm;
using Strata.Stacks;
using Strata.Store;

// Fan-outs of trivial steps through the slurm step operator, against the floor (bare sbatch --wrap jobs, polling squeue
// until they are gone) and snakemake's cluster mode, in the same run on the same cluster, through both transports. See run.sh.
//
//   dotnet SlurmBench.dll [--rounds N] [--width N] [--wide N] [--transport cli|rest|both]
//
// P3: --width (10) steps, the orchestrator's parallelism as wide. P3b: --wide (100) branches of one step at the default
// parallelism, which the operator submits as one Slurm job array. Each round runs the floor, snakemake and strata in turn;
// the medians are compared. The app is its own step entrypoint, as a user's app is.
if (await StrataEntrypoint.TryRunAsync(args) is { } exitCode)
    return exitCode;

var rounds = Option("--rounds", 3);
var width = Option("--width", 10);
var wide = Option("--wide", 100);
var transportOption = args.SkipWhile(a => a != "--transport").Skip(1).FirstOrDefault() ?? "both";
string[] transports = transportOption == "both" ? ["cli", "rest"] : [transportOption];
var slurmConf = Environment.GetEnvironmentVariable("SLURM_CONF")
    ?? throw new InvalidOperationException("SLURM_CONF is not set: source the cluster's env file (run.sh does).");
var root = Directory.CreateTempSubdirectory("strata-slurm-bench-").FullName;
try
{
    var p3 = await FigureAsync("P3", width, width, 1.0, 0.5);
    var p3b = await FigureAsync("P3b", wide, null, 0.5, 0.2);
    Console.WriteLine();
    foreach (var line in p3.Concat(p3b)) Console.WriteLine(line);
    return 0;
}
finally
{
    try { Directory.Delete(root, recursive: true); }
    catch (IOException) { }
}

// One figure: rounds of floor, snakemake and strata (each transport) on `jobs` jobs; returns its summary lines.
async Task<List<string>> FigureAsync(string figure, int jobs, int? parallelism, double floorTarget, double snakemakeTarget)
{
    Console.WriteLine($"{figure}: {jobs} trivial independent jobs, {rounds} round(s) after a warm-up; Slurm partition debug; strata parallelism " +
        $"{(parallelism is { } n ? n.ToString(CultureInfo.InvariantCulture) : $"default ({Environment.ProcessorCount})")}");
    var floor = new List<double>();
    var snakemake = new List<double>();
    var strata = transports.ToDictionary(t => t, _ => new List<double>());
    for (var round = 0; round <= rounds; round++)
    {
        var f = await Benchmarks.FloorAsync(jobs);
        var s = await Benchmarks.SnakemakeAsync(jobs, Path.Combine(root, $"{figure}-snakemake-{round}"));
        var t = new Dictionary<string, (double Seconds, int Submissions)>();
        foreach (var transport in transports)
            t[transport] = await Benchmarks.StrataAsync(jobs, Path.Combine(root, $"{figure}-strata-{transport}-{round}"), transport, slurmConf, parallelism);
        var label = round == 0 ? "warm-up" : $"round {round}";
        Console.WriteLine(FormattableString.Invariant($"  {label,-8}  floor {f,6:0.00} s   snakemake {s,6:0.00} s   ") + string.Join("   ",
            transports.Select(x => FormattableString.Invariant($"strata {x} {t[x].Seconds,6:0.00} s ({t[x].Submissions} sbatch)"))));
        if (round == 0) continue;
        floor.Add(f);
        snakemake.Add(s);
        foreach (var transport in transports) strata[transport].Add(t[transport].Seconds);
    }
    double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
    var (fm, sm) = (Median(floor), Median(snakemake));
    var lines = new List<string>
    {
        FormattableString.Invariant($"{figure}  {jobs} jobs  median  floor (sbatch --wrap + squeue)  {fm:0.00} s"),
        FormattableString.Invariant($"{figure}  {jobs} jobs  median  snakemake 7 --cluster           {sm:0.00} s"),
    };
    foreach (var transport in transports)
    {
        var tm = Median(strata[transport]);
        lines.Add(FormattableString.Invariant($"{figure}  {jobs} jobs  median  strata slurm ({transport,-4})        {tm:0.00} s"));
        lines.Add(FormattableString.Invariant($"{figure}  {transport,-4}  strata / floor     {tm / fm:0.00}x  (target <= {floorTarget}x)  ") +
            (tm / fm <= floorTarget ? "met" : "NOT met"));
        lines.Add(FormattableString.Invariant($"{figure}  {transport,-4}  strata / snakemake {tm / sm:0.00}x  (target <= {snakemakeTarget}x)  ") +
            (tm / sm <= snakemakeTarget ? "met" : "NOT met"));
    }
    return lines;
}

int Option(string name, int fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

namespace Strata.Bench.Slurm
{
    public static class FanOut
    {
        public const string Operator = "hpc";

        [Step(StepOperator = Operator)]
        public static int Trivial(int i) => i;

        public static Action<PipelineBuilder> Build(int width) => p =>
        {
            for (var i = 0; i < width; i++) p.Step(Trivial, i);
        };
    }

    internal static class Benchmarks
    {
        /// <summary>The floor: <paramref name="width"/> bare `sbatch --wrap true` jobs, then squeue every 100 ms until none is left.</summary>
        public static async Task<double> FloorAsync(int width)
        {
            var watch = Stopwatch.StartNew();
            var ids = new List<string>();
            for (var i = 0; i < width; i++)
                ids.Add((await RunAsync("sbatch", ["--parsable", "-p", "debug", "-o", "/dev/null", "--wrap", "true"])).Trim());
            while ((await RunAsync("squeue", ["--noheader", $"--jobs={string.Join(',', ids)}", "--format=%i"], allowFailure: true)).Trim().Length > 0)
                await Task.Delay(100);
            return watch.Elapsed.TotalSeconds;
        }

        /// <summary>snakemake's cluster mode: one rule, <paramref name="width"/> outputs, each a job submitted with sbatch.</summary>
        public static async Task<double> SnakemakeAsync(int width, string dir)
        {
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "Snakefile"),
                $"rule all:\n    input: expand(\"out/{{i}}.txt\", i=range({width}))\n\nrule one:\n    output: \"out/{{i}}.txt\"\n    shell: \"touch {{output}}\"\n");
            var watch = Stopwatch.StartNew();
            await RunAsync("snakemake", ["--cluster", "sbatch --parsable -p debug -o /dev/null", "--jobs", width.ToString(CultureInfo.InvariantCulture), "--quiet"],
                workingDirectory: dir, environment: new() { ["USER"] = Environment.UserName });
            var elapsed = watch.Elapsed.TotalSeconds;
            var made = Directory.GetFiles(Path.Combine(dir, "out")).Length;
            if (made != width) throw new InvalidOperationException($"snakemake made {made} of {width} outputs");
            return elapsed;
        }

        /// <summary>The slurm step operator: a pipeline of <paramref name="width"/> independent steps, from submit to all results recorded.</summary>
        /// <returns>The time, and how many Slurm submissions it took (distinct array job ids of the steps' jobs).</returns>
        public static async Task<(double Seconds, int Submissions)> StrataAsync(int width, string dir, string transport, string slurmConf, int? parallelism)
        {
            var flavors = new FlavorRegistry().AddSlurm();
            await using var client = await StrataClient.OpenAsync(new StrataHome(Path.Combine(dir, "home")), flavors);
            await client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "shared", "local",
                new Dictionary<string, string> { ["path"] = Path.Combine(dir, "artifacts"), ["shared"] = "true" });
            var config = new Dictionary<string, string> { ["work_dir"] = Path.Combine(dir, "work"), ["partition"] = "debug", ["transport"] = transport };
            if (transport == "cli") config["slurm_conf"] = slurmConf;
            else
            {
                config["rest_url"] = Environment.GetEnvironmentVariable("STRATA_SLURM_REST_URL")!;
                config["user_name"] = Environment.UserName;
                config["token"] = Environment.GetEnvironmentVariable("STRATA_SLURM_JWT")!;
            }
            await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, FanOut.Operator, "slurm", config);
            await client.Stacks.RegisterStackAsync("hpc", StackManager.DefaultStack, "shared", [FanOut.Operator]);
            var pipeline = PipelineDefinition.Build(FanOut.Build(width), "fan_out", client.Materializers);

            var watch = Stopwatch.StartNew();
            // Null: the default parallelism; the operator gathers the fan-out into job arrays whatever the parallelism.
            var result = await client.RunAsync(pipeline, new RunOptions
            {
                Stack = "hpc", MaxParallelism = parallelism, NoCache = true, Observer = RunObservers.None,
            });
            var elapsed = watch.Elapsed.TotalSeconds;
            if (!result.Succeeded)
                throw new InvalidOperationException("the strata run failed: " + string.Join("; ", result.Steps.Where(s => s.Error is not null).Select(s => $"{s.Name}: {s.Error}")));
            var submissions = (await client.Store.ListStepRunsAsync(result.Run.Id))
                .Select(r => System.Text.Json.JsonDocument.Parse(r.Job!).RootElement.GetProperty("job_id").GetString()!.Split('_')[0]).Distinct().Count();
            return (elapsed, submissions);
        }

        private static async Task<string> RunAsync(string file, IEnumerable<string> args, bool allowFailure = false, string? workingDirectory = null,
            Dictionary<string, string>? environment = null)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var (k, v) in environment ?? []) psi.Environment[k] = v;
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0 && !allowFailure)
                throw new InvalidOperationException($"{file} {string.Join(' ', psi.ArgumentList)} exited with {process.ExitCode}: {await stderr}");
            return await stdout;
        }
    }
}
