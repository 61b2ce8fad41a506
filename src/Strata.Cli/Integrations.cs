namespace Strata.Cli;

/// <summary>The first-party integrations the CLI ships with, registered explicitly (core never references them).</summary>
internal static class Integrations
{
    public static void Register()
    {
        PostgresMetadataStoreRegistration.Register();
        FlavorRegistry.Default.AddSlurm();
    }
}
