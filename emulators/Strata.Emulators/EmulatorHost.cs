using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;

namespace Strata.Emulators;

/// <summary>Turns an <see cref="IEmulator"/> into a subcommand that starts it, prints how to reach it, and runs until SIGINT or SIGTERM.</summary>
internal static class EmulatorHost
{
    public const int Ok = 0;
    public const int UsageError = 2;

    public static Command Command(IEmulator emulator)
    {
        var port = new Option<int>("--port", "-p")
        {
            Description = "Port on 127.0.0.1 to listen on; 0 picks a free one (printed at start).",
            DefaultValueFactory = _ => 0,
            CustomParser = r => Number(r, "--port", 0, 65535),
        };
        var command = new Command(emulator.Name, emulator.Description) { port };
        foreach (var option in emulator.Options) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => RunAsync(emulator, parse, parse.GetValue(port), cancellationToken));
        return command;
    }

    /// <summary>An option for a share of requests answered with an injected fault (<c>--throttle-rate</c>, <c>--server-error-rate</c>), 0 to 1.</summary>
    public static Option<double> FaultRate(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r => Number(r, name, 0.0, 1.0),
    };

    /// <summary>The option's value when it is a number from min to max; otherwise a parse error saying so.</summary>
    public static T Number<T>(System.CommandLine.Parsing.ArgumentResult result, string option, T min, T max) where T : struct, INumber<T>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (T.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max) return value;
        result.AddError($"{option} must be a number from {min} to {max}, not '{text}'.");
        return min;
    }

    private static async Task<int> RunAsync(IEmulator emulator, ParseResult parse, int port, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        RunningEmulator running;
        try
        {
            running = await emulator.StartAsync(parse, port, stop.Token);
        }
        catch (EmulatorStartException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UsageError;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            Console.Error.WriteLine($"error: port {port} on 127.0.0.1 is in use; choose another with --port, or --port 0 for a free one.");
            return UsageError;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return Ok;
        }

        await using (running.Emulator)
        {
            foreach (var line in running.Instructions)
                Console.WriteLine(line);
            Console.WriteLine("Press Ctrl+C to stop.");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            Console.Error.WriteLine($"Stopping the {emulator.Name} emulator.");
        }
        return Ok;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // the process ends once the emulator is down, not at the signal
            stop.Cancel();
        }
    }
}
