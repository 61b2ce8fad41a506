using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Strata;

/// <summary>Calls a step method with its arguments and awaits it when it is async.</summary>
internal static class StepInvoker
{
    public static async Task<object?> InvokeAsync(StepDefinition step, object?[] arguments)
    {
        object? returned;
        try
        {
            returned = step.Method.Invoke(null, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        switch (returned)
        {
            case Task task:
                await task.ConfigureAwait(false);
                return task.GetType().GetProperty("Result")!.GetValue(task);
            case not null when step.IsAsync && returned.GetType().IsGenericType && returned.GetType().GetGenericTypeDefinition() == typeof(ValueTask<>):
                var asTask = (Task)returned.GetType().GetMethod("AsTask")!.Invoke(returned, null)!;
                await asTask.ConfigureAwait(false);
                return asTask.GetType().GetProperty("Result")!.GetValue(asTask);
            default:
                return returned;
        }
    }
}
