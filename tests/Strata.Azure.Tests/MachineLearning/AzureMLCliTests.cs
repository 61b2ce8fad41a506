using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Azure.Tests.MachineLearning;

/// <summary>
/// The README's flow on Azure with the real <c>strata</c> command: an azure store and an azureml operator registered with the
/// seed's command, stacked, running the Quickstart on the emulator; signed in as a service principal through
/// <c>DefaultAzureCredential</c>, the jobs reaching the store as their managed identity, no key anywhere.
/// </summary>
public sealed class AzureMLCliTests : IAsyncLifetime
{
    private const string EnvironmentName = "strata-dotnet";

    private AzureMLStack _stack = null!;

    public async Task InitializeAsync() => _stack = await AzureMLStack.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private string Home => Path.Combine(_stack.Directory, "home");

    private (int ExitCode, string Out, string Error) Run(params string[] args) => _stack.Strata(Home, _stack.SignedInEnvironment(), args);

    private (int ExitCode, string Out, string Error) Ok(params string[] args)
    {
        var result = Run(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Out}\n{result.Error}");
        return result;
    }

    /// <summary>An environment registered in the workspace as a user registers one (az ml environment create), whose image the emulator runs.</summary>
    private async Task RegisterEnvironmentAsync()
    {
        var token = _stack.Emulator.IssueToken("https://management.azure.com", AzureMLStack.Tenant, Guid.NewGuid().ToString(), AzureMLStack.ClientId);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var body = new JsonObject { ["properties"] = new JsonObject { ["image"] = AzureMLStack.Image } }.ToJsonString();
        var uri = new Uri(_stack.Emulator.Endpoint, $"subscriptions/{AzureMLStack.Subscription}/resourceGroups/{AzureMLStack.ResourceGroup}/providers/" +
            $"Microsoft.MachineLearningServices/workspaces/{AzureMLStack.Workspace}/environments/{EnvironmentName}/versions/1?api-version=2024-10-01");
        using var response = await http.PutAsync(uri, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private void RegisterStack(params string[] operatorArgs)
    {
        // No key: the strata command signs in as the service principal (AZURE_* variables), the jobs as their compute's identity.
        Ok("artifact-store", "register", "lake", "--flavor=azure", $"--path={_stack.StorePath}", $"--account_name={HttpsAzurite.AccountName}",
            $"--endpoint_url={_stack.Azurite.Endpoint}");
        Ok(["step-operator", "register", "azureml", .. operatorArgs]);
        Ok("stack", "register", "azure", "-o", "default", "-a", "lake", "-s", "azureml", "--set");
    }

    /// <summary>The seed's command, with the emulator's hosts and the app's start command added to reach this machine.</summary>
    private static string[] SeedCommand(string compute = AzureMLStack.Compute) =>
    [
        "--flavor=azureml",
        $"--subscription_id={AzureMLStack.Subscription}",
        $"--resource_group={AzureMLStack.ResourceGroup}",
        $"--workspace_name={AzureMLStack.Workspace}",
        $"--compute_target_name={compute}",
        $"--environment_name={EnvironmentName}",
    ];

    private string[] Reach() =>
        [$"--arm_endpoint={_stack.Emulator.Endpoint}", $"--authority_host={_stack.Emulator.AuthorityHost}", $"--entrypoint={AzureMLStack.Entrypoint}"];

    [Fact]
    public async Task The_seed_register_command_trains_the_quickstart_on_azure_ml_with_no_secret_in_any_request()
    {
        await RegisterEnvironmentAsync();
        RegisterStack([.. SeedCommand(), .. Reach()]);

        var run = Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        Assert.Contains("✓ train completed", run.Out, StringComparison.Ordinal);
        var job = Assert.Single(_stack.CreatedJobs())["properties"]!;
        Assert.EndsWith($"/workspaces/{AzureMLStack.Workspace}/computes/{AzureMLStack.Compute}", (string)job["computeId"]!, StringComparison.Ordinal);
        Assert.EndsWith($"/environments/{EnvironmentName}/versions/1", (string)job["environmentId"]!, StringComparison.Ordinal);
        Assert.Equal("Managed", (string)job["identity"]!["identityType"]!);
        Assert.Equal("Completed", _stack.Emulator.JobStatus(Assert.Single(_stack.Emulator.JobNames)));
        // The client secret goes to Entra ID's token endpoint only; no other request carries it.
        Assert.DoesNotContain(_stack.Emulator.Requests, r => r.Api != "entra" && r.Body.Contains(_stack.ClientSecret, StringComparison.Ordinal));

        var runs = JsonDocument.Parse(Ok("run", "list", "--output", "json").Out).RootElement.EnumerateArray().ToArray();
        var id = Assert.Single(runs).GetProperty("id").GetString()!;
        var show = JsonDocument.Parse(Ok("run", "show", id, "--output", "json").Out).RootElement;
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal("azureml", steps["train"].GetProperty("step_operator").GetString());
        Assert.All(steps.Values, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        Assert.StartsWith(_stack.StorePath + "/", steps["train"].GetProperty("outputs")[0].GetProperty("uri").GetString(), StringComparison.Ordinal);
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs, StringComparison.Ordinal); // printed in the job, read back from run history
        Assert.Contains("[azureml] Completed", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_30_percent_throttling_and_server_errors_the_quickstart_still_trains()
    {
        await RegisterEnvironmentAsync();
        RegisterStack([.. SeedCommand(), .. Reach()]);
        _stack.Emulator.ThrottleRate = 0.2;
        _stack.Emulator.ServerErrorRate = 0.1;

        var run = Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        Assert.Contains("✓ train completed", run.Out, StringComparison.Ordinal);
        Assert.Contains(_stack.Emulator.Requests, r => r.Api == "arm" && r.Status == 429);
        Assert.Single(_stack.Emulator.JobNames); // a retried PUT of the job is the same job
    }

    [Fact]
    public void A_wrong_client_secret_is_refused_by_entra_id_and_named_before_any_job()
    {
        var secret = _stack.Strata(Home, null, "secret", "create", "azureml", "--client_secret=not-the-secret");
        Assert.True(secret.ExitCode == 0, secret.Error);
        RegisterStack([.. SeedCommand(), .. Reach(), $"--tenant_id={AzureMLStack.Tenant}", $"--service_principal_id={AzureMLStack.ClientId}",
            "--service_principal_password={{azureml.client_secret}}"]);

        var run = Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Microsoft Entra ID gave the azureml step operator no token", run.Out + run.Error, StringComparison.Ordinal);
        Assert.Contains("AADSTS7000215", run.Out + run.Error, StringComparison.Ordinal);
        Assert.Empty(_stack.Emulator.JobNames);
    }

    [Fact]
    public async Task A_compute_the_workspace_lacks_fails_the_step_naming_the_computes_it_has()
    {
        await RegisterEnvironmentAsync();
        RegisterStack([.. SeedCommand("cpu-cluster"), .. Reach()]);

        var run = Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("compute_target_name 'cpu-cluster' is not a compute of Azure ML workspace strata-ws; it has busy-cluster, gpu-cluster",
            run.Out + run.Error, StringComparison.Ordinal);
        Assert.Empty(_stack.Emulator.JobNames);
    }
}
