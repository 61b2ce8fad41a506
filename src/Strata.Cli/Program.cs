using System.CommandLine;
using Strata;
using Strata.Cli;
using Strata.Cli.Commands;

Integrations.Register();

// The CLI is also a step entrypoint: a step operator can run `strata strata-step --manifest URI` for any app's step.
if (await StrataEntrypoint.TryRunAsync(args) is { } stepExitCode)
    return stepExitCode;

var root = new RootCommand("Strata: typed ML pipelines for .NET whose steps can run on specialised compute.");
root.Options.Add(GlobalOptions.Output);
root.Subcommands.Add(InitCommand.Create());
foreach (var type in ComponentTypes.All)
    root.Subcommands.Add(ComponentCommands.Create(type));
root.Subcommands.Add(StackCommands.Create());
root.Subcommands.Add(SecretCommands.Create());
root.Subcommands.Add(PipelineCommands.Create());
root.Subcommands.Add(RunCommands.Create());
root.Subcommands.Add(ArtifactCommands.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
        Console.Error.WriteLine($"error: {error.Message}");
    var command = string.Join(' ', parse.CommandResult.Command is RootCommand ? [] : CommandPath(parse.CommandResult));
    Console.Error.WriteLine($"Run 'strata {(command.Length > 0 ? command + " " : "")}--help' for usage.");
    return Handler.UserError;
}
// Commands that run pipelines handle Ctrl+C themselves (first press cancels jobs and waits, second gives up).
return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = true, ProcessTerminationTimeout = null });

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
{
    var names = new Stack<string>();
    for (var r = result; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        names.Push(r.Command.Name);
    return names;
}
