using System.CommandLine;
using Strata.Emulators;

// Each emulator is one subcommand; adding one (vertex, azureml, kubernetes) is one more entry here.
IEmulator[] emulators = [new SageMakerCommand(), new KubernetesCommand(), new GcsCommand(), new VertexCommand(), new AzureMlCommand()];

var root = new RootCommand("Runs a cloud service emulator on 127.0.0.1 until Ctrl+C, to try pipelines and the cloud's own clients without an account.");
foreach (var emulator in emulators)
    root.Subcommands.Add(EmulatorHost.Command(emulator));

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line: an unknown word most likely names an emulator that does not exist.
    var problem = parse.UnmatchedTokens.FirstOrDefault() is not { } unknown ? parse.Errors[0].Message
        : unknown.StartsWith('-') ? $"unknown option '{unknown}'."
        : $"unknown emulator or argument '{unknown}'; emulators: {string.Join(", ", emulators.Select(e => e.Name))}.";
    Console.Error.WriteLine($"error: {problem} Run 'strata-emulators --help' for usage.");
    return EmulatorHost.UsageError;
}
// The host stops on SIGINT and SIGTERM itself (EmulatorHost), so that it can shut the emulator down and exit 0.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
