using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Azure.Core;

namespace Strata.Emulators.Azure.Tests;

/// <summary>
/// ARM's side of the contract: authentication, api-version, request bodies checked against Azure's type definitions, read-only fields filled.
/// </summary>
public sealed class ArmContractTests
{
    private static string Ws => AzureMlStack.WorkspacePath;

    [Fact]
    public async Task Requests_without_a_management_token_get_401_with_arms_error_and_WWW_Authenticate()
    {
        await using var stack = await AzureMlStack.StartAsync();
        using var http = new HttpClient(stack.Emulator.CreateHandler());
        var url = new Uri(stack.Emulator.Endpoint, $"{Ws.TrimStart('/')}?api-version={AzureMlStack.ApiVersion}");
        using var anonymous = await http.GetAsync(url);
        Assert.Equal(401, (int)anonymous.StatusCode);
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var error = JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("AuthenticationFailed", (string?)error["code"]);

        // A token of ours, but for storage, is not one for ARM.
        var storage = await stack.Credential.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]), default);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", storage.Token);
        using var wrongAudience = await http.SendAsync(request);
        Assert.Equal(401, (int)wrongAudience.StatusCode);
        Assert.Contains("audience", await wrongAudience.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workspace_and_compute_are_served_with_a_discovery_url_and_unknown_ones_are_404()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var (status, ws, _) = await stack.SendAsync(RequestMethod.Get, Ws);
        Assert.Equal(200, status);
        Assert.Equal(Ws, (string?)ws!["id"]);
        var discoveryUrl = (string)ws["properties"]!["discoveryUrl"]!;
        using var http = new HttpClient(stack.Emulator.CreateHandler());
        var discovery = JsonNode.Parse(await http.GetStringAsync(discoveryUrl))!;
        Assert.Equal(stack.Emulator.Endpoint.ToString().TrimEnd('/'), (string?)discovery["history"]);
        Assert.NotNull((string?)discovery["api"]);

        var (computeStatus, compute, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/computes/cpu");
        Assert.Equal(200, computeStatus);
        Assert.Equal("AmlCompute", (string?)compute!["properties"]!["computeType"]);
        var (missing, error, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/computes/gpu");
        Assert.Equal(404, missing);
        Assert.Equal("ResourceNotFound", (string?)error!["error"]!["code"]);
        var (noWs, _, _) = await stack.SendAsync(RequestMethod.Get, Ws.Replace(AzureMlStack.WorkspaceName, "other", StringComparison.Ordinal));
        Assert.Equal(404, noWs);
        var (noVersion, versionError, _) = await stack.SendAsync(RequestMethod.Get, Ws, apiVersion: "");
        Assert.Equal(400, noVersion);
        Assert.Equal("MissingApiVersionParameter", (string?)versionError!["error"]!["code"]);
    }

    [Fact]
    public async Task Environment_versions_are_stored_and_the_container_names_the_latest()
    {
        await using var stack = await AzureMlStack.StartAsync();
        await stack.PutEnvironmentAsync("env", "1");
        var id = await stack.PutEnvironmentAsync("env", "2");
        Assert.EndsWith("/environments/env/versions/2", id, StringComparison.Ordinal);
        var (_, container, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/environments/env");
        Assert.Equal("2", (string?)container!["properties"]!["latestVersion"]);
        var (_, list, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/environments/env/versions");
        Assert.Equal(2, list!["value"]!.AsArray().Count);
        var (_, version, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/environments/env/versions/1");
        Assert.Equal("Succeeded", (string?)version!["properties"]!["provisioningState"]);
        Assert.Equal(AzureMlStack.Image, (string?)version["properties"]!["image"]);
        var (conflict, _, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/environments/env/versions/1",
            new JsonObject { ["properties"] = new JsonObject { ["image"] = "other:2" } });
        Assert.Equal(409, conflict);
    }

    public static TheoryData<string, string, string> BadJobs => new()
    {
        { "unknown property", """{"properties":{"jobType":"Command","command":"true","environmentId":"ENV","commandLine":"x"}}""", "commandLine" },
        { "missing required", """{"properties":{"jobType":"Command","environmentId":"ENV"}}""", "properties.command" },
        { "bad discriminator", """{"properties":{"jobType":"Shell","command":"true","environmentId":"ENV"}}""", "Shell" },
        { "bad enum", """{"properties":{"jobType":"Command","command":"true","environmentId":"ENV","limits":{"jobLimitsType":"Forever"}}}""", "Forever" },
        { "read-only", """{"properties":{"jobType":"Command","command":"true","environmentId":"ENV","status":"Completed"}}""", "read-only" },
        { "pattern", """{"properties":{"jobType":"Command","command":"!!","environmentId":"ENV"}}""", "pattern" },
        { "wrong type", """{"properties":{"jobType":"Command","command":"true","environmentId":"ENV","environmentVariables":{"A":1}}}""", "string" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task A_job_body_that_breaks_azures_type_definitions_is_refused_with_400(string why, string body, string mentioned)
    {
        await using var stack = await AzureMlStack.StartAsync();
        var env = await stack.PutEnvironmentAsync();
        var (status, error, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/bad-{Guid.NewGuid():n}",
            JsonNode.Parse(body.Replace("ENV", env, StringComparison.Ordinal)));
        Assert.True(status == 400, $"{why}: {status} {error}");
        Assert.Contains(mentioned, (string)error!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.Empty(stack.Emulator.JobNames);
    }

    [Fact]
    public async Task Api_versions_the_type_definitions_lack_are_refused_and_older_ones_check_their_own_schema()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var env = await stack.PutEnvironmentAsync();
        var (status, error, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/j1", AzureMlStack.CommandJob(env, "true"), apiVersion: "2099-01-01");
        Assert.Equal(400, status);
        Assert.Equal("NoRegisteredProviderFound", (string?)error!["error"]!["code"]);
        var (old, body, _) = await stack.SendAsync(RequestMethod.Put, $"{Ws}/jobs/j2", AzureMlStack.CommandJob(env, "true"), apiVersion: "2022-05-01");
        Assert.True(old == 201, $"{old} {body}");
    }

    [Fact]
    public async Task A_job_is_answered_with_the_read_only_fields_azure_fills()
    {
        await using var stack = await AzureMlStack.StartAsync();
        var name = await stack.SubmitAsync("true");
        var (_, job, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/jobs/{name}");
        Assert.Equal($"{Ws}/jobs/{name}", (string?)job!["id"]);
        Assert.Equal(name, (string?)job["name"]);
        Assert.Equal("Microsoft.MachineLearningServices/workspaces/jobs", (string?)job["type"]);
        Assert.Equal(AzureMlStack.ClientId, (string?)job["systemData"]!["createdBy"]);
        Assert.NotNull((string?)job["properties"]!["status"]);
        Assert.NotNull((string?)job["properties"]!["services"]!["Studio"]!["endpoint"]);
        Assert.NotNull((string?)job["properties"]!["services"]!["Tracking"]!["endpoint"]);
        var (_, list, _) = await stack.SendAsync(RequestMethod.Get, $"{Ws}/jobs");
        Assert.Contains(list!["value"]!.AsArray(), j => (string?)j!["name"] == name);
    }
}
