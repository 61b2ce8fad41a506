using System.Reflection;
using System.Runtime.Loader;

namespace Strata;

/// <summary>Finds <c>[Pipeline]</c> methods in an assembly, for running a pipeline by name from the command line.</summary>
public static class PipelineDiscovery
{
    /// <summary>Loads an application assembly with its dependencies, once per path; Strata itself is shared with the caller.</summary>
    /// <exception cref="StrataConfigException">The file does not exist or is not a .NET assembly.</exception>
    public static Assembly LoadAssembly(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new StrataConfigException($"Assembly '{path}' not found; build your project first (dotnet build) and pass the path of its .dll.");
        // A second copy would have types of its own (a plugin's flavor and the same app's pipelines must agree).
        if (AssemblyLoadContext.All.SelectMany(c => c.Assemblies).FirstOrDefault(a => a.Location == full) is { } loaded)
            return loaded;
        try
        {
            return new AppLoadContext(full).LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException e)
        {
            throw new StrataConfigException($"'{path}' is not a .NET assembly; pass the .dll that your project builds.", e);
        }
    }

    /// <summary>Every pipeline method in the assembly, by its full name <c>Namespace.Type.Method</c>.</summary>
    public static IReadOnlyList<MethodInfo> FindAll(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        return types
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<PipelineAttribute>() is not null)
            .OrderBy(m => m.DeclaringType!.FullName).ThenBy(m => m.Name)
            .ToArray();
    }

    /// <summary>
    /// Finds a pipeline by its name (<c>[Pipeline(Name)]</c> or the default name), by <c>Type.Method</c>,
    /// or by <c>Namespace.Type.Method</c>.
    /// </summary>
    /// <exception cref="StrataConfigException">No pipeline or several match; the message lists those available.</exception>
    public static Action<PipelineBuilder> Find(Assembly assembly, string name)
    {
        var all = FindAll(assembly);
        var matches = all.Where(m => NamesOf(m).Contains(name)).ToArray();
        if (matches.Length == 1)
        {
            var method = matches[0];
            if (method.ReturnType != typeof(void) || method.GetParameters() is not [{ ParameterType: var p }] || p != typeof(PipelineBuilder))
                throw new StrataConfigException($"Pipeline method {method.DeclaringType!.FullName}.{method.Name} must be `static void " +
                    $"{method.Name}(PipelineBuilder p)`.");
            return method.CreateDelegate<Action<PipelineBuilder>>();
        }
        var available = all.Count == 0
            ? "none (mark a static method with [Pipeline])"
            : string.Join(", ", all.Select(m => $"{m.DeclaringType!.Name}.{m.Name}"));
        throw new StrataConfigException(matches.Length == 0
            ? $"No pipeline '{name}' in {assembly.GetName().Name}; available: {available}."
            : $"Pipeline name '{name}' is ambiguous in {assembly.GetName().Name}; use Namespace.Type.Method. Available: {available}.");
    }

    public static string NameOf(MethodInfo method) => method.GetCustomAttribute<PipelineAttribute>()?.Name ?? PipelineDefinition.DefaultName(method);

    private static HashSet<string> NamesOf(MethodInfo m) =>
    [
        NameOf(m),
        $"{m.DeclaringType!.Name}.{m.Name}",
        $"{m.DeclaringType.FullName}.{m.Name}",
    ];

    /// <summary>Resolves the application's own dependencies from its folder, and everything already loaded (Strata) from the host.</summary>
    private sealed class AppLoadContext(string mainAssemblyPath) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(mainAssemblyPath))
    {
        private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is { } n && n.StartsWith("Strata.", StringComparison.Ordinal) && Default.Assemblies.Any(a => a.GetName().Name == n))
                return null;
            if (Default.Assemblies.Any(a => a.GetName().Name == assemblyName.Name))
                return null;
            var path = _resolver.ResolveAssemblyToPath(assemblyName);
            return path is null ? null : LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }
    }
}
