using System.CommandLine;
using Strata.Cli;
using Strata.Cli.Commands;

// Most commands read the store: its library sets itself up on the other core while the command line is parsed. Help and
// the version read nothing, and the warm-up would only take that core from the main thread's JIT profile.
if (!AsksForHelpOrVersion(args)) MetadataStores.WarmUp();
Integrations.Register();

IDisposable? telemetry;
try
{
    telemetry = TelemetryExport.FromEnvironment();
}
catch (StrataException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return Handler.UserError;
}
using var exporting = telemetry;

// The CLI is also a step entrypoint: a step operator can run `strata strata-step --manifest URI` for any app's step.
if (await StrataEntrypoint.TryRunAsync(args) is { } stepExitCode)
    return stepExitCode;

// One JIT profile per command (`run show`, `stack list`, ...) and output form: each compiles its own code, and a
// profile replayed for other work only takes the second core from it.
JitProfile.Start("cli-" + CommandWords(args) + (WritesJson(args) ? "-json" : ""));

try
{
    Integrations.LoadPlugins();
}
catch (StrataException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return Handler.UserError;
}

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
root.Subcommands.Add(GcCommand.Create());
root.Subcommands.Add(DashboardCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var line in ParseErrors.Describe(parse))
        Console.Error.WriteLine(line);
    Console.Error.WriteLine(ParseErrors.UsageHint(parse));
    return Handler.UserError;
}
// Commands that run pipelines handle Ctrl+C themselves (first press cancels jobs and waits, second gives up).
return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = true, ProcessTerminationTimeout = null });

// The leading words of the command line that name a command (lowercase letters and dashes), at most two.
static string CommandWords(string[] args)
{
    var words = new List<string>();
    foreach (var arg in args)
    {
        if (words.Count == 2 || arg.Length == 0 || !IsCommandWord(arg)) break;
        words.Add(arg);
    }
    return words.Count == 0 ? "root" : string.Join('-', words);
}

static bool AsksForHelpOrVersion(string[] args)
{
    foreach (var arg in args)
        if (arg is "--help" or "-h" or "-?" or "--version") return true;
    return false;
}

static bool WritesJson(string[] args)
{
    for (var i = 0; i < args.Length; i++)
        if (args[i] == "--output=json" || (args[i] == "--output" && i + 1 < args.Length && args[i + 1] == "json")) return true;
    return false;
}

static bool IsCommandWord(string arg)
{
    if (arg[0] == '-') return false;
    foreach (var c in arg)
        if (c is not (>= 'a' and <= 'z' or '-')) return false;
    return true;
}

/// <summary>The <c>strata</c> command. Internal: ASP.NET Core (the dashboard) would otherwise make the top-level program public.</summary>
internal static partial class Program;
