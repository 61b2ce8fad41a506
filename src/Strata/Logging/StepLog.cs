using System.Text;
using Microsoft.Extensions.Logging;

namespace Strata;

/// <summary>
/// The log of one step invocation: everything it writes to the console and to its logger, kept for the store
/// and forwarded line by line to the live view.
/// </summary>
internal sealed class StepLog(string stepName, Action<string, string>? onLine)
{
    // Made at the first write: most steps of a large run write nothing.
    private readonly Lock _gate = new();
    private StringBuilder? _all;
    private StringBuilder? _partial;

    public string StepName { get; } = stepName;

    /// <summary>Hides secret values the step was given, in the stored log and the live view.</summary>
    public SecretMasker? Masker { get; set; }

    public void Write(string text)
    {
        if (Masker is { } masker) text = masker.Mask(text);
        lock (_gate)
        {
            (_all ??= new StringBuilder()).Append(text);
            _partial ??= new StringBuilder();
            foreach (var c in text)
            {
                if (c == '\n')
                {
                    var line = _partial.ToString().TrimEnd('\r');
                    _partial.Clear();
                    onLine?.Invoke(StepName, line);
                }
                else _partial.Append(c);
            }
        }
    }

    public void WriteLine(string line) => Write(line + "\n");

    public string Text
    {
        get
        {
            lock (_gate)
            {
                if (_partial is { Length: > 0 })
                {
                    onLine?.Invoke(StepName, _partial.ToString());
                    _partial.Clear();
                }
                return _all?.ToString() ?? "";
            }
        }
    }
}

/// <summary>
/// Routes <see cref="Console.Out"/> and <see cref="Console.Error"/> to the step log of the current async flow,
/// so concurrent steps keep their output apart. Outside a step, writes go to the real console.
/// </summary>
internal static class ConsoleCapture
{
    private static readonly AsyncLocal<StepLog?> Current = new();
    private static readonly Lock Gate = new();
    private static TextWriter? _originalOut;
    private static TextWriter? _originalError;

    /// <summary>The console as it was before capture was installed: the live view writes here.</summary>
    public static TextWriter RealOut => _originalOut ?? Console.Out;

    public static TextWriter RealError => _originalError ?? Console.Error;

    public static void Install()
    {
        lock (Gate)
        {
            if (_originalOut is not null) return;
            _originalOut = Console.Out;
            _originalError = Console.Error;
            Console.SetOut(new RoutingWriter(_originalOut));
            Console.SetError(new RoutingWriter(_originalError));
        }
    }

    /// <summary>Sends this async flow's console output to <paramref name="log"/> until the returned scope ends.</summary>
    public static IDisposable Begin(StepLog log)
    {
        Install();
        var previous = Current.Value;
        Current.Value = log;
        return new Scope(previous);
    }

    private sealed class Scope(StepLog? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }

    private sealed class RoutingWriter(TextWriter real) : TextWriter
    {
        public override Encoding Encoding => real.Encoding;

        public override void Write(char value)
        {
            if (Current.Value is { } log) log.Write(value.ToString());
            else lock (real) real.Write(value);
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            if (Current.Value is { } log) log.Write(value);
            else lock (real) real.Write(value);
        }

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        public override void WriteLine(string? value) => Write((value ?? "") + "\n");

        public override void WriteLine() => Write("\n");

        public override void Flush()
        {
            lock (real) real.Flush();
        }
    }
}

/// <summary>An <see cref="ILogger"/> that writes into a step's log.</summary>
internal sealed class StepLogger(StepLog log) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var level = logLevel switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
        log.WriteLine($"{level}: {formatter(state, exception)}");
        if (exception is not null) log.WriteLine(exception.ToString());
    }
}
