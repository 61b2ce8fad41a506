using System.Runtime.InteropServices;

namespace Strata.Cli;

/// <summary>
/// Ctrl+C and SIGTERM for commands that run pipelines: the first press cancels the run (its jobs are cancelled
/// through their step operators) and waits for them to stop; a second press gives up waiting and exits with 130.
/// </summary>
internal sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly PosixSignalRegistration _sigterm;
    private int _presses;

    public Interrupts(CancellationToken outer)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Console.CancelKeyPress += OnCancelKeyPress;
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Cancel("terminated");
        });
    }

    public CancellationToken Token => _cancel.Token;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (Interlocked.Increment(ref _presses) == 1)
        {
            e.Cancel = true;
            Cancel("interrupted");
        }
        else
        {
            Console.Error.WriteLine("Stopped waiting; jobs that were still stopping may run on (see `strata run cancel`).");
            Environment.Exit(130);
        }
    }

    private void Cancel(string why)
    {
        Console.Error.WriteLine($"{why}: cancelling the run and its jobs (Ctrl+C again to stop waiting)");
        _cancel.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm.Dispose();
        _cancel.Dispose();
    }
}
