using System.CommandLine;

namespace Strata.Cli;

/// <summary>Range checks on numeric options, made while parsing: an out-of-range value is a usage error before the store is opened.</summary>
internal static class Ranges
{
    public static Option<int> AtLeast(this Option<int> option, int min)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is var value && value < min)
                result.AddError(Message(option, min, value));
        });
        return option;
    }

    public static Option<int?> AtLeast(this Option<int?> option, int min)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value < min)
                result.AddError(Message(option, min, value));
        });
        return option;
    }

    private static string Message(Option option, int min, int value) => $"{option.Name} must be at least {min} (got {value}).";
}
