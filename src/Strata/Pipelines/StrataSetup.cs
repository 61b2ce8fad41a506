using System.Reflection;
using System.Runtime.CompilerServices;

namespace Strata;

/// <summary>
/// Configuration an application applies wherever its pipelines run: registering materializers and flavors.
/// Name it with <c>[assembly: StrataSetup(typeof(MySetup))]</c>; Strata applies it before building any pipeline
/// of that assembly — in the application itself, in <c>strata pipeline run</c>, and in a step running in another process.
/// </summary>
public interface IStrataSetup
{
    void Configure(MaterializerRegistry materializers, FlavorRegistry flavors);
}

/// <summary>Names the <see cref="IStrataSetup"/> of an assembly.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class StrataSetupAttribute(Type setupType) : Attribute
{
    public Type SetupType { get; } = setupType;
}

public static class StrataSetups
{
    private static readonly ConditionalWeakTable<MaterializerRegistry, HashSet<Assembly>> Applied = new();

    /// <summary>Applies an assembly's setups once per registry.</summary>
    public static void Apply(Assembly assembly, MaterializerRegistry materializers, FlavorRegistry flavors)
    {
        var done = Applied.GetOrCreateValue(materializers);
        lock (done)
        {
            if (!done.Add(assembly)) return;
            foreach (var attribute in assembly.GetCustomAttributes<StrataSetupAttribute>())
            {
                if (!typeof(IStrataSetup).IsAssignableFrom(attribute.SetupType) || attribute.SetupType.GetConstructor(Type.EmptyTypes) is null)
                    throw new StrataConfigException($"[assembly: StrataSetup(typeof({attribute.SetupType.Name}))] in {assembly.GetName().Name}: the type " +
                        "must implement IStrataSetup and have a parameterless constructor.");
                ((IStrataSetup)Activator.CreateInstance(attribute.SetupType)!).Configure(materializers, flavors);
            }
        }
    }
}
