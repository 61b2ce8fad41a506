using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata run list|show|logs|cancel|resume</c>.</summary>
internal static class RunCommands
{
    public static Command Create()
    {
        var group = new Command("run", "Inspect, cancel and resume pipeline runs.");

        var pipeline = new Option<string>("--pipeline", "-p") { Description = "Only runs of this pipeline." };
        var limit = new Option<int>("--limit", "-n") { Description = "How many runs, newest first.", DefaultValueFactory = _ => 20 }.AtLeast(1);
        var list = new Command("list", "List runs, newest first.") { pipeline, limit };
        Handler.Set(list, async c =>
        {
            var client = await c.ClientAsync();
            var runs = await client.Store.ListRunsAsync(c.Get(pipeline), c.Get(limit), c.CancellationToken);
            if (c.Json)
            {
                c.WriteJsonArray(runs, Shapes.WriteRun);
                return Handler.Ok;
            }
            if (runs.Count == 0)
            {
                c.Out.WriteLine("No runs yet. Run a pipeline with `strata pipeline run`.");
                return Handler.Ok;
            }
            var table = Tables.Create("RUN", "PIPELINE", "STACK", "STATUS", "STARTED", "DURATION", "STEPS");
            foreach (var r in runs)
                Tables.Row(table, r.Name, r.Pipeline, r.Stack, Status(r.Status), Tables.Time(r.StartedAt), Tables.Duration(r.StartedAt, r.FinishedAt),
                    r.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            c.Out.Write(table);
            return Handler.Ok;
        });

        var runArg = new Argument<string>("run") { Description = "Run name, id or id prefix." };
        var all = new Option<bool>("--all") { Description = $"List every step in the table (by default a run of more than {StepTableCap} steps lists " +
            $"{StepTableCap}, those that did not complete first)." };
        var show = new Command("show", "Show a run's steps, their states, durations, errors and artifacts.") { runArg, all };
        Handler.Set(show, async c =>
        {
            var client = await c.ClientAsync();
            var run = await FindAsync(client, c.Get(runArg)!, c.CancellationToken);
            if (!c.Json)
            {
                // The table reads what it prints: counts by state, and the listed steps with their outputs.
                var counts = await client.Store.CountStepsAsync(run.Id, c.CancellationToken);
                IReadOnlyList<StepRunRecord> listed;
                IReadOnlyList<StepArtifactLink> listedOutputs;
                if (c.Get(all))
                {
                    listed = await client.Store.ListStepRunsAsync(run.Id, c.CancellationToken);
                    listedOutputs = await client.Store.GetStepOutputsAsync(run.Id, c.CancellationToken);
                }
                else
                {
                    listed = await client.Store.ListStepRunsAsync(run.Id, StepTableCap, c.CancellationToken);
                    listedOutputs = await client.Store.GetStepOutputsAsync(listed.Select(s => s.Id).ToArray(), c.CancellationToken);
                }
                WriteStepTable(c, run, counts, listed, listedOutputs.ToLookup(l => l.StepRunId));
                return Handler.Ok;
            }
            // Every step, with its inputs and outputs. The reads are independent, and SQLite runs each synchronously on
            // its own connection: on threads of their own they overlap.
            var stepsRead = Task.Run(() => client.Store.ListStepRunsAsync(run.Id, c.CancellationToken));
            var outputsRead = Task.Run(async () => (await client.Store.GetStepOutputsAsync(run.Id, c.CancellationToken)).ToLookup(l => l.StepRunId));
            var inputsRead = Task.Run(async () => (await client.Store.GetStepInputsAsync(run.Id, c.CancellationToken)).ToLookup(l => l.StepRunId));
            var steps = await stepsRead;
            var outputs = await outputsRead;
            var inputs = await inputsRead;
            c.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WritePropertyName("run");
                Shapes.WriteRun(w, run);
                w.WriteStartArray("steps");
                foreach (var s in steps)
                {
                    Shapes.WriteStep(w, s, inputs[s.Id], outputs[s.Id]);
                    CliContext.FlushSome(w);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return Handler.Ok;
        });

        var logsRun = new Argument<string>("run") { Description = "Run name, id or id prefix." };
        var step = new Option<string>("--step") { Description = "Only this step's log." };
        var logs = new Command("logs", "Print the stored console output and log messages of a run's steps.") { logsRun, step };
        Handler.Set(logs, async c =>
        {
            var client = await c.ClientAsync();
            var run = await FindAsync(client, c.Get(logsRun)!, c.CancellationToken);
            var only = c.Get(step);
            var steps = only is null
                ? await client.Store.ListStepRunsAsync(run.Id, c.CancellationToken)
                : await client.Store.ListStepAttemptsAsync(run.Id, only, c.CancellationToken);
            if (only is not null && steps.Count == 0)
            {
                var names = (await client.Store.ListStepRunsAsync(run.Id, c.CancellationToken)).Select(s => s.Name).Distinct();
                throw new CliUsageException($"Run {run.Name} has no step '{only}'; steps: {string.Join(", ", names)}.");
            }
            var entries = new List<(StepRunRecord Step, string Log)>();
            foreach (var s in steps)
                entries.Add((s, await client.Store.GetStepLogAsync(s.Id, c.CancellationToken) ?? ""));
            if (c.Json)
            {
                c.WriteJson(entries.Select(e => new { step = e.Step.Name, step_run_id = e.Step.Id, status = e.Step.Status, log = e.Log }).ToArray());
                return Handler.Ok;
            }
            foreach (var (s, log) in entries)
            {
                if (c.Get(step) is null) Console.Out.WriteLine($"==> {s.Name} ({Status(s.Status)}) <==");
                Console.Out.Write(log);
                if (log.Length > 0 && !log.EndsWith('\n')) Console.Out.WriteLine();
            }
            return Handler.Ok;
        });

        var cancelRun = new Argument<string>("run") { Description = "Run name, id or id prefix." };
        var wait = new Option<string>("--wait") { Description = "How long to wait for the running process to stop its jobs before stopping them from here.",
            DefaultValueFactory = _ => "30s" };
        var cancel = new Command("cancel", "Cancel a running run from any terminal: its jobs are cancelled through their step operators.") { cancelRun, wait };
        Handler.Set(cancel, async c =>
        {
            if (!Durations.TryParse(c.Get(wait)!, out var waitFor)) throw new CliUsageException($"--wait '{c.Get(wait)}' is not a duration (e.g. 30s).");
            var client = await c.ClientAsync();
            var run = await client.CancelRunAsync(c.Get(cancelRun)!, waitFor, c.CancellationToken);
            if (c.Json) c.WriteJson(w => Shapes.WriteRun(w, run));
            else c.Success($"Run {run.Name} {run.Status.ToString().ToLowerInvariant()}.");
            return Handler.Ok;
        });

        var resumeRun = new Argument<string>("run") { Description = "Run name, id or id prefix." };
        var resumeParallelism = new Option<int?>("--max-parallelism") { Description = "How many steps run at once." }.AtLeast(1);
        var resumeConfig = new Option<string>("--config", "-c")
        {
            Description = "A YAML run config (per step: step_operator, settings, retries, timeout) to use instead of the one the run was started " +
                "with, which is stored with the run and used by default."
        };
        var resume = new Command("resume",
            "Run again the failed, cancelled, interrupted and never-started steps of a run, keeping what completed. Ctrl+C cancels its jobs and waits for " +
            "them to stop; a second Ctrl+C stops waiting.") { resumeRun, resumeParallelism, resumeConfig };
        Handler.Set(resume, async c =>
        {
            var client = await c.ClientAsync();
            using var interrupts = new Interrupts(c.CancellationToken);
            var result = await client.ResumeAsync(c.Get(resumeRun)!, new RunOptions
            {
                MaxParallelism = c.Get(resumeParallelism),
                Observer = c.Json ? RunObservers.None : new ConsoleRunReporter(),
                Steps = c.Get(resumeConfig) is { } configFile ? RunConfigFile.Read(configFile) : [],
            }, interrupts.Token);
            if (c.Json)
                c.WriteJson(w => Shapes.WriteResult(w, result));
            return result.Succeeded ? Handler.Ok : result.Run.Status == ExecutionStatus.Cancelled ? 130 : Handler.Failed;
        });

        group.Subcommands.Add(list);
        group.Subcommands.Add(show);
        group.Subcommands.Add(logs);
        group.Subcommands.Add(cancel);
        group.Subcommands.Add(resume);
        return group;
    }

    internal static async Task<RunRecord> FindAsync(StrataClient client, string idOrName, CancellationToken cancellationToken) =>
        await client.Store.FindRunAsync(idOrName, cancellationToken)
        ?? throw new CliUsageException($"No run '{idOrName}'; see `strata run list`.");

    /// <summary>How many steps `run show` lists without <c>--all</c>: a table of thousands of rows helps no one.</summary>
    internal const int StepTableCap = 50;

    /// <summary>The run, its step counts by status, and a table of the listed steps with a line on any not listed.</summary>
    /// <param name="c">The command's context.</param>
    /// <param name="run">The run.</param>
    /// <param name="counts">Steps by the state of their latest attempt, and earlier attempts by state.</param>
    /// <param name="listed">The step runs to list.</param>
    /// <param name="outputs">Their outputs.</param>
    private static void WriteStepTable(CliContext c, RunRecord run, StepCounts counts, IReadOnlyList<StepRunRecord> listed,
        ILookup<string, StepArtifactLink> outputs)
    {
        var (latest, byState) = Summary(counts.Latest);
        var (retried, retriedByState) = Summary(counts.Earlier);
        var total = latest + retried;
        c.Out.WriteLine($"Run {run.Name} ({run.Id})");
        c.Out.WriteLine($"  pipeline {run.Pipeline}  stack {run.Stack}  status {Status(run.Status)}  started {Tables.Time(run.StartedAt)}  duration " +
            $"{Tables.Duration(run.StartedAt, run.FinishedAt)}");
        if (run.Error is not null) c.Out.WriteLine($"  error: {run.Error}");
        // A step counts once, by its latest attempt: a resumed run that completed has no failed steps, only earlier attempts that failed.
        c.Out.WriteLine($"  steps {latest}: {byState}" + (retried == 0 ? "" : $"; {retried} earlier attempt{(retried == 1 ? "" : "s")} " +
            $"({retriedByState})"));
        var table = Tables.Create("STEP", "ATTEMPT", "STATUS", "DURATION", "OUTPUTS", "DETAIL");
        foreach (var s in listed)
            Tables.Row(table, s.Name, s.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture), Status(s.Status),
                Tables.Duration(s.StartedAt, s.FinishedAt),
                string.Join(", ", outputs[s.Id].Select(o => $"{o.Name}={o.Artifact.Id[^12..]}")),
                s.Error ?? (s.CachedFromStepRunId is { } from ? $"cached from {from}" : ""));
        c.Out.Write(table);
        if (listed.Count < total)
            c.Out.WriteLine($"{total - listed.Count} more steps not listed: `strata run show {run.Name} --all` lists them all, `--output json` gives every " +
                "field.");
    }

    private static string Status(ExecutionStatus s) => s.ToString().ToLowerInvariant();

    /// <summary>
    /// The total of counts by state, and "N state" for each, in the states' order. A loop, not LINQ: sorting and summing the
    /// pairs of an enum and an int compile a dozen generic methods afresh in every process.
    /// </summary>
    private static (int Total, string ByState) Summary(IReadOnlyDictionary<ExecutionStatus, int> counts)
    {
        var (total, parts) = (0, new List<string>());
        foreach (var state in ExecutionStatuses)
            if (counts.TryGetValue(state, out var n))
            {
                total += n;
                parts.Add($"{n} {Status(state)}");
            }
        return (total, string.Join(", ", parts));
    }

    private static readonly ExecutionStatus[] ExecutionStatuses = (ExecutionStatus[])Enum.GetValues(typeof(ExecutionStatus));
}
