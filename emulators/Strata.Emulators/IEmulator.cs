using System.CommandLine;

namespace Strata.Emulators;

/// <summary>One emulator the host runs: its subcommand, its own options, and how it starts.</summary>
internal interface IEmulator
{
    /// <summary>The subcommand, e.g. <c>sagemaker</c>.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>Options of its own, besides the host's <c>--port</c>.</summary>
    IReadOnlyList<Option> Options { get; }

    /// <summary>Starts the emulator on 127.0.0.1 and <paramref name="port"/> (0: a free one).</summary>
    /// <exception cref="EmulatorStartException">The options or the machine do not allow it to start.</exception>
    Task<RunningEmulator> StartAsync(ParseResult options, int port, CancellationToken cancellationToken);
}

/// <summary>A started emulator, and the lines that tell a user how to point clients at it.</summary>
internal sealed record RunningEmulator(IAsyncDisposable Emulator, IReadOnlyList<string> Instructions);

/// <summary>Why an emulator could not start, as one line naming the fix.</summary>
internal sealed class EmulatorStartException(string message, Exception? inner = null) : Exception(message, inner);
