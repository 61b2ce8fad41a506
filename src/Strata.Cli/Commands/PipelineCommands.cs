using System.CommandLine;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata pipeline run|list</c>: pipelines come from the user's built assembly.</summary>
internal static class PipelineCommands
{
    public static Command Create()
    {
        var group = new Command("pipeline", "Run the pipelines of a built .NET assembly.");

        var assembly = new Option<string>("--assembly", "-A") { Description = "Path to the .dll that defines the pipeline (your built project).",
            Required = true };

        var name = new Argument<string>("pipeline") { Description = "Pipeline name, Type.Method or Namespace.Type.Method." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run every step even when a cached result exists." };
        var parallelism = new Option<int?>("--max-parallelism") { Description = "How many steps run at once (default: the orchestrator's setting, else the " +
            "processor count)." }.AtLeast(1);
        var stack = new Option<string>("--stack") { Description = "Run on this stack instead of the active one." };
        var runName = new Option<string>("--run-name") { Description = "Name the run (default: pipeline-date-time-random)." };
        var config = new Option<string>("--config", "-c")
        {
            Description = "A YAML run config: per step, step_operator, settings, retries, timeout (see docs/cli.md)."
        };
        var run = new Command("run",
            "Run a pipeline on the active stack, showing progress; exits 0 only when every step succeeded. Ctrl+C cancels the run's jobs and waits for them " +
            "to stop; a second Ctrl+C stops waiting.")
        {
            name, assembly, noCache, parallelism, stack, runName, config,
        };
        Handler.Set(run, async c =>
        {
            var pipeline = PipelineDiscovery.Find(PipelineDiscovery.LoadAssembly(c.Get(assembly)!), c.Get(name)!);
            var client = await c.ClientAsync();
            var options = new RunOptions
            {
                NoCache = c.Get(noCache),
                MaxParallelism = c.Get(parallelism),
                Stack = c.Get(stack),
                RunName = c.Get(runName),
                Observer = c.Json ? RunObservers.None : new ConsoleRunReporter(),
            };
            if (c.Get(config) is { } configFile) options.Steps = RunConfigFile.Read(configFile);
            using var interrupts = new Interrupts(c.CancellationToken);
            var result = await client.RunAsync(pipeline, options, interrupts.Token);
            if (c.Json)
                c.WriteJson(w => Shapes.WriteResult(w, result));
            return result.Succeeded ? Handler.Ok : result.Run.Status == ExecutionStatus.Cancelled ? 130 : Handler.Failed;
        });

        var list = new Command("list", "List the pipelines an assembly defines.") { assembly };
        Handler.Set(list, c =>
        {
            var methods = PipelineDiscovery.FindAll(PipelineDiscovery.LoadAssembly(c.Get(assembly)!));
            if (c.Json)
            {
                c.WriteJson(methods.Select(m => new { name = PipelineDiscovery.NameOf(m), method = $"{m.DeclaringType!.FullName}.{m.Name}" }).ToArray());
                return Task.FromResult(Handler.Ok);
            }
            var table = Tables.Create("PIPELINE", "METHOD");
            foreach (var m in methods) Tables.Row(table, PipelineDiscovery.NameOf(m), $"{m.DeclaringType!.FullName}.{m.Name}");
            c.Out.Write(table);
            return Task.FromResult(Handler.Ok);
        });

        group.Subcommands.Add(run);
        group.Subcommands.Add(list);
        return group;
    }
}
