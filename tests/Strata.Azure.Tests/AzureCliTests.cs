using Azure.Storage.Blobs.Models;

namespace Strata.Azure.Tests;

/// <summary>The Quickstart with the real <c>strata</c> command on a stack whose artifact store is azure, against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureCliTests(AzuriteServer server) : IDisposable
{
    // The command's own build: the one beside these tests runs on the test host's shared frameworks (the emulator's ASP.NET Core among them).
    private readonly StrataCli _cli = new(RepoPaths.StrataDll);

    public void Dispose() => _cli.Dispose();

    private CliResult Ok(params string[] args)
    {
        var result = _cli.Run(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: {result}");
        return result;
    }

    [Fact]
    public async Task The_quickstart_runs_and_then_hits_the_cache_on_an_azure_store_whose_key_is_a_secret()
    {
        var quickstart = RepoPaths.QuickstartDll();
        var container = server.NewContainerName();
        await server.Container(container).CreateAsync();

        var secret = _cli.RunWithInput(AzuriteServer.AccountKey + "\n", "secret", "create", "azurite", "--account_key=-");
        Assert.True(secret.ExitCode == 0, secret.ToString());
        Ok("artifact-store", "register", "lake", "--flavor=azure", $"--path=az://{container}/strata", $"--account_name={AzuriteServer.AccountName}",
            "--account_key={{azurite.account_key}}", $"--endpoint_url={server.Endpoint}");
        // The step's job gets the store's config without its secret fields, and brings its own key, as a job on Azure would its identity.
        Ok("step-operator", "register", "lp", "--flavor=local-process", "--environment=AZURE_STORAGE_KEY={{azurite.account_key}}");
        Ok("stack", "register", "azure", "-o", "default", "-a", "lake", "-s", "lp", "--set");

        var first = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);
        var second = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);

        Assert.Contains("✓ train completed", first.Out, StringComparison.Ordinal);
        Assert.Contains("4 cached", second.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, Ok("artifact-store", "describe", "lake").Out, StringComparison.Ordinal);
        var id = Ok("run", "list", "--output", "json").Json.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).First();
        var train = Ok("run", "show", id, "--output", "json").Json.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "train");
        var uri = train.GetProperty("outputs")[0].GetProperty("uri").GetString()!;
        Assert.StartsWith($"az://{container}/strata/", uri, StringComparison.Ordinal);
        var name = uri[$"az://{container}/".Length..];
        var names = new List<string>();
        await foreach (var b in server.Container(container).GetBlobsAsync(new GetBlobsOptions { Prefix = name + "/" })) names.Add(b.Name);
        Assert.Contains(name + "/.strata/commit.json", names);
    }

    [Fact]
    public void A_blob_url_as_the_path_stops_the_run_with_the_path_to_write_and_exit_code_2()
    {
        Ok("artifact-store", "register", "lake", "--flavor=azure", "--path=https://acct.blob.core.windows.net/models/strata", "--account_name=acct");
        Ok("stack", "register", "azure", "-o", "default", "-a", "lake", "--set");

        var result = _cli.Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("write it as az://models/strata with account_name=acct", result.Error, StringComparison.Ordinal);
    }
}
