using Strata.Postgres;

namespace Strata.Cli;

/// <summary>The first-party integrations the CLI ships with, registered explicitly (core never references them), and plugins.</summary>
internal static class Integrations
{
    /// <summary>Paths of assemblies (separated by ':') whose <c>[assembly: StrataSetup]</c> every command applies.</summary>
    public const string PluginsVariable = "STRATA_PLUGINS";

    public static void Register()
    {
        PostgresMetadataStoreRegistration.Register();
        // When a command first reads the flavors: one that only reads the store does not load the integrations' assemblies.
        FlavorRegistry.Default.AddLater(flavors => flavors.AddAws().AddGcp().AddAzure().AddSlurm().AddContainers().AddKubernetes());
    }

    /// <summary>
    /// Applies the setups of the assemblies in <c>STRATA_PLUGINS</c>, so third-party flavors and materializers are known to
    /// every command: registering a component of such a flavor, describing it, and cancelling its jobs after a restart.
    /// </summary>
    /// <exception cref="StrataConfigException">A path is not a .NET assembly, or its setup is not valid.</exception>
    public static void LoadPlugins()
    {
        var paths = Environment.GetEnvironmentVariable(PluginsVariable);
        if (string.IsNullOrWhiteSpace(paths)) return;
        foreach (var path in paths.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                StrataSetups.Apply(PipelineDiscovery.LoadAssembly(path), MaterializerRegistry.Default, FlavorRegistry.Default);
            }
            catch (StrataConfigException e)
            {
                throw new StrataConfigException($"{PluginsVariable}: {e.Message}", e);
            }
        }
    }
}
