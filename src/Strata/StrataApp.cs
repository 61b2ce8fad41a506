namespace Strata;

/// <summary>
/// Runs an app's main work the way the <c>strata</c> command runs its commands: a <see cref="StrataException"/> (bad config,
/// a stack that does not fit, a pipeline wired wrong) prints its one-line message, which names the fix, and exits with 2,
/// instead of an unhandled exception and a stack trace; Ctrl+C exits with 130.
/// </summary>
/// <example><code>return await StrataApp.RunAsync(async () => { ...; return 0; });</code></example>
public static class StrataApp
{
    /// <summary>The exit code of a user error, as the <c>strata</c> command has it.</summary>
    public const int UserError = 2;

    /// <summary>The exit code after Ctrl+C.</summary>
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(Func<Task<int>> main, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        try
        {
            return await main().ConfigureAwait(false);
        }
        catch (StrataException e)
        {
            await (error ?? Console.Error).WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return UserError;
        }
        catch (OperationCanceledException)
        {
            await (error ?? Console.Error).WriteLineAsync("cancelled").ConfigureAwait(false);
            return Cancelled;
        }
    }
}
