using Quickstart;
using Strata;

// Lets a step operator run this app's steps in another process: `dotnet Quickstart.dll strata-step --manifest URI`.
if (await StrataEntrypoint.TryRunAsync(args) is { } exitCode)
    return exitCode;

// The README's main command: `dotnet run --project examples/Quickstart` (add --no-cache to retrain).
// StrataApp.RunAsync reports a user error (a stack that does not fit, bad config) in one line with its fix, as the strata command does.
return await StrataApp.RunAsync(async () =>
{
    var result = await StrataClient.RunPipelineAsync(CreditPipeline.Build, new RunOptions { NoCache = args.Contains("--no-cache") });
    if (!result.Succeeded)
        return 1;

    Console.WriteLine();
    Console.WriteLine("Metrics on the held-out 20%:");
    foreach (var metric in new[] { "accuracy", "auc", "f1", "log_loss" })
        Console.WriteLine($"  {metric,-9} {await result.LoadAsync<double>("evaluate", metric):0.0000}");
    Console.WriteLine();
    Console.WriteLine($"Inspect it with: strata run show {result.Run.Name}");
    return 0;
});
