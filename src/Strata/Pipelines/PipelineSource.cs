using System.Reflection;
using System.Text.Json;

namespace Strata;

/// <summary>Where a run's pipeline came from (assembly and method), stored with the run so it can be resumed from another process.</summary>
internal sealed record PipelineSource(string Assembly, string? AssemblyPath, string Type, string Method)
{
    public static string Of(MethodInfo method) => JsonSerializer.Serialize(new PipelineSource(
        method.Module.Assembly.GetName().Name!, method.Module.Assembly.Location is { Length: > 0 } l ? l : null,
        method.DeclaringType!.FullName!, method.Name), StrataJson.Compact);

    /// <exception cref="StrataConfigException">The run has no source, or its assembly or method is gone.</exception>
    public static Action<PipelineBuilder> Find(RunRecord run)
    {
        if (run.Source is null)
            throw new StrataConfigException($"Run {run.Name} cannot be resumed: it was not started from a named [Pipeline] method.");
        var source = JsonSerializer.Deserialize<PipelineSource>(run.Source, StrataJson.Compact)!;
        var assembly = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == source.Assembly)
            ?? (source.AssemblyPath is not null && File.Exists(source.AssemblyPath)
                ? PipelineDiscovery.LoadAssembly(source.AssemblyPath)
                : throw new StrataConfigException($"Run {run.Name} cannot be resumed: its assembly {source.AssemblyPath ?? source.Assembly} is gone."));
        var method = assembly.GetType(source.Type)?.GetMethod(source.Method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static,
            [typeof(PipelineBuilder)])
            ?? throw new StrataConfigException($"Run {run.Name} cannot be resumed: {source.Type}.{source.Method}(PipelineBuilder) is not in " +
                $"{assembly.GetName().Name} any more.");
        return method.CreateDelegate<Action<PipelineBuilder>>();
    }
}
