using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml;
using Microsoft.AspNetCore.Http;
using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure;

/// <summary>
/// ARM for Microsoft.MachineLearningServices (workspaces, computes, environments, command jobs, cancel's async operation) and
/// the workspace's data plane (discovery, run history, log files), each job run for real as a process.
/// </summary>
internal sealed partial class MachineLearning : IAsyncDisposable
{
    public const string Provider = "Microsoft.MachineLearningServices";

    private readonly AzureMlEmulatorOptions _options;
    private readonly Entra _entra;
    private readonly ArmSchema _schema;
    private readonly string _workDirectory;
    private readonly string _caBundle;
    private readonly byte[] _signingKey = RandomNumberGenerator.GetBytes(32);
    private readonly Lock _lock = new();
    private readonly List<MlWorkspace> _workspaces;
    private readonly Dictionary<string, JsonObject> _environments = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, MlJob> _jobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SemaphoreSlim> _capacity = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _shutdown = new();

    public MachineLearning(AzureMlEmulatorOptions options, Entra entra, string workDirectory, string caBundle)
    {
        _options = options;
        _entra = entra;
        _schema = new ArmSchema(options.StrictEnums);
        _workDirectory = workDirectory;
        _caBundle = caBundle;
        _workspaces = [.. options.Workspaces];
    }

    public Uri Endpoint { get; set; } = null!;

    public ArmSchema Schema => _schema;

    public void AddWorkspace(MlWorkspace workspace)
    {
        lock (_lock) _workspaces.Add(workspace);
    }

    public MlJob? Job(string name)
    {
        lock (_lock) return _jobs.GetValueOrDefault(name);
    }

    public IReadOnlyList<MlJob> Jobs()
    {
        lock (_lock) return _jobs.Values.ToArray();
    }

    private MlWorkspace Workspace(string subscription, string group, string name)
    {
        lock (_lock)
            return _workspaces.FirstOrDefault(w => w.SubscriptionId.Equals(subscription, StringComparison.OrdinalIgnoreCase)
                && w.ResourceGroup.Equals(group, StringComparison.OrdinalIgnoreCase) && w.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new AzureApiException(404, "ResourceNotFound", $"The Resource '{Provider}/workspaces/{name}' under resource group '{group}' "
                    + "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
    }

    /// <summary>
    /// The ARM operation a path is (e.g. <c>Jobs.CreateOrUpdate</c>), with its route values; null when the path is not ARM's for this provider.
    /// </summary>
    public static ArmRoute? RouteOf(string method, string path)
    {
        var s = path.Trim('/').Split('/');
        bool Is(int i, string word) => s.Length > i && s[i].Equals(word, StringComparison.OrdinalIgnoreCase);
        if (!Is(0, "subscriptions") || s.Length < 2) return null;
        if (s.Length >= 8 && Is(2, "providers") && Is(3, Provider) && Is(4, "locations") && (Is(6, "mfeOperationsStatus") || Is(6, "mfeOperationResults")))
            return new ArmRoute(Is(6, "mfeOperationsStatus") ? "Operations.Status" : "Operations.Result", s[1], "", "", [s[7]]);
        if (s.Length < 8 || !Is(2, "resourceGroups") || !Is(4, "providers") || !Is(5, Provider) || !Is(6, "workspaces")) return null;
        var (sub, rg, ws) = (s[1], s[3], s[7]);
        var rest = s[8..];
        var get = method == "GET";
        string? op = rest switch
        {
            [] when get => "Workspaces.Get",
            [var k] when get && Eq(k, "computes") => "Compute.List",
            [var k, _] when get && Eq(k, "computes") => "Compute.Get",
            [var k] when get && Eq(k, "environments") => "EnvironmentContainers.List",
            [var k, _] when Eq(k, "environments") => get ? "EnvironmentContainers.Get" : method == "PUT" ? "EnvironmentContainers.CreateOrUpdate" : null,
            [var k, _, var v] when get && Eq(k, "environments") && Eq(v, "versions") => "EnvironmentVersions.List",
            [var k, _, var v, _] when Eq(k, "environments") && Eq(v, "versions") =>
                get ? "EnvironmentVersions.Get" : method == "PUT" ? "EnvironmentVersions.CreateOrUpdate" : null,
            [var k] when get && Eq(k, "jobs") => "Jobs.List",
            [var k, _] when Eq(k, "jobs") => get ? "Jobs.Get" : method == "PUT" ? "Jobs.CreateOrUpdate" : null,
            [var k, _, var c] when method == "POST" && Eq(k, "jobs") && Eq(c, "cancel") => "Jobs.Cancel",
            _ => null,
        };
        return new ArmRoute(op ?? "Unknown", sub, rg, ws, rest);
    }

    private static bool Eq(string a, string b) => a.Equals(b, StringComparison.OrdinalIgnoreCase);

    /// <summary>A routed ARM request: the operation, the workspace's coordinates and the path after the workspace.</summary>
    public sealed record ArmRoute(string Operation, string Subscription, string ResourceGroup, string Workspace, string[] Rest);

    /// <summary>Answers an authenticated ARM request with a JSON body (or throws <see cref="AzureApiException"/>).</summary>
    public (int Status, JsonNode? Body, Dictionary<string, string> Headers) Arm(ArmRoute route, string apiVersion, string body, JsonObject caller)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (route.Operation is "Operations.Status" or "Operations.Result") return Operation(route, apiVersion, headers);
        var ws = Workspace(route.Subscription, route.ResourceGroup, route.Workspace);
        switch (route.Operation)
        {
            case "Workspaces.Get":
                return (200, WorkspaceJson(ws), headers);
            case "Compute.List":
                return (200, new JsonObject { ["value"] = new JsonArray(ws.Computes.Keys.Select(c => (JsonNode)ComputeJson(ws, c)).ToArray()) }, headers);
            case "Compute.Get":
                var compute = ws.Computes.Keys.FirstOrDefault(c => Eq(c, route.Rest[1]))
                    ?? throw NotFound("computes", route.Rest[1], ws);
                return (200, ComputeJson(ws, compute), headers);
            case "EnvironmentContainers.List":
                return (200, new JsonObject { ["value"] = new JsonArray(Containers(ws).Select(c => (JsonNode)c).ToArray()) }, headers);
            case "EnvironmentContainers.Get":
                return (200, Containers(ws).FirstOrDefault(c => Eq((string)c["name"]!, route.Rest[1])) ?? throw NotFound("environments", route.Rest[1], ws),
                    headers);
            case "EnvironmentContainers.CreateOrUpdate":
                Validate("workspaces/environments", apiVersion, body);
                return (200, Containers(ws).FirstOrDefault(c => Eq((string)c["name"]!, route.Rest[1])) ?? ContainerJson(ws, route.Rest[1], []), headers);
            case "EnvironmentVersions.List":
                var versions = Versions(ws, route.Rest[1]);
                return (200, new JsonObject { ["value"] = new JsonArray(versions.Select(v => v.DeepClone()).ToArray()) }, headers);
            case "EnvironmentVersions.Get":
                return (200, Versions(ws, route.Rest[1]).FirstOrDefault(v => Eq((string)v["name"]!, route.Rest[3]))?.DeepClone()
                    ?? throw NotFound($"environments/{route.Rest[1]}/versions", route.Rest[3], ws), headers);
            case "EnvironmentVersions.CreateOrUpdate":
                Validate("workspaces/environments/versions", apiVersion, body);
                return PutVersion(ws, route.Rest[1], route.Rest[3], (JsonObject)JsonNode.Parse(body)!, caller, headers);
            case "Jobs.List":
                MlJob[] jobs;
                lock (_lock) jobs = _jobs.Values.Where(j => j.Workspace == ws).OrderByDescending(j => j.Created).ToArray();
                return (200, new JsonObject { ["value"] = new JsonArray(jobs.Select(j => (JsonNode)JobJson(j)).ToArray()) }, headers);
            case "Jobs.Get":
                return (200, JobJson(FindJob(ws, route.Rest[1])), headers);
            case "Jobs.CreateOrUpdate":
                Validate("workspaces/jobs", apiVersion, body);
                return PutJob(ws, route.Rest[1], apiVersion, (JsonObject)JsonNode.Parse(body)!, caller, headers);
            case "Jobs.Cancel":
                return Cancel(ws, FindJob(ws, route.Rest[1]), apiVersion, headers);
            default:
                throw new AzureApiException(400, "InvalidResourceType", $"The resource type or operation of '{string.Join('/', route.Rest)}' is not "
                    + $"served by the emulator of {Provider} (workspaces, computes, environments and jobs are).");
        }
    }

    private void Validate(string type, string apiVersion, string body)
    {
        JsonNode? json;
        try { json = JsonNode.Parse(body.Length == 0 ? "null" : body); }
        catch (System.Text.Json.JsonException e) { throw new AzureApiException(400, "InvalidRequestContent", $"The request content was invalid: {e.Message}"); }
        var problems = _schema.Check($"{Provider}/{type}", apiVersion, json);
        if (problems.Count == 0) return;
        var details = new JsonArray(problems.Select(p => (JsonNode)new JsonObject { ["code"] = p.Code, ["target"] = p.Path, ["message"] = p.Message })
            .ToArray());
        throw new AzureApiException(400, "UserError", string.Join(" ", problems.Select(p => p.Message)), details);
    }

    private static AzureApiException NotFound(string kind, string name, MlWorkspace ws) =>
        new(404, "ResourceNotFound", $"The Resource '{Provider}/workspaces/{ws.Name}/{kind}/{name}' under resource group '{ws.ResourceGroup}' "
            + "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");

    private JsonObject SystemData(DateTimeOffset created, DateTimeOffset modified, string by) => new()
    {
        ["createdAt"] = Timestamp(created),
        ["createdBy"] = by,
        ["createdByType"] = "Application",
        ["lastModifiedAt"] = Timestamp(modified),
        ["lastModifiedBy"] = by,
        ["lastModifiedByType"] = "Application",
    };

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private JsonObject WorkspaceJson(MlWorkspace ws)
    {
        var created = _options.Time.GetUtcNow().AddDays(-1);
        return new JsonObject
        {
            ["id"] = ws.Id,
            ["name"] = ws.Name,
            ["type"] = $"{Provider}/workspaces",
            ["location"] = ws.Location,
            ["tags"] = new JsonObject(),
            ["identity"] = new JsonObject
            {
                ["type"] = "SystemAssigned", ["principalId"] = Guid.Empty.ToString(), ["tenantId"] = ws.TenantId ?? _entra.DefaultTenant,
            },
            ["sku"] = new JsonObject { ["name"] = "Basic", ["tier"] = "Basic" },
            ["kind"] = "Default",
            ["systemData"] = SystemData(created, created, "strata-emulator"),
            ["properties"] = new JsonObject
            {
                ["friendlyName"] = ws.Name,
                ["workspaceId"] = Guid.NewGuid().ToString(),
                ["provisioningState"] = "Succeeded",
                ["discoveryUrl"] = new Uri(Endpoint, $"discovery/workspaces/{ws.SubscriptionId}/{ws.ResourceGroup}/{ws.Name}").ToString(),
                ["mlFlowTrackingUri"] = $"azureml://{ws.Location}.api.azureml.ms/mlflow/v1.0{ws.Id}",
                ["storageAccount"] = $"{Group(ws)}/providers/Microsoft.Storage/storageAccounts/emulated",
                ["keyVault"] = $"{Group(ws)}/providers/Microsoft.KeyVault/vaults/emulated",
                ["publicNetworkAccess"] = "Enabled",
                ["hbiWorkspace"] = false,
                ["v1LegacyMode"] = false,
            },
        };
    }

    private static string Group(MlWorkspace ws) => $"/subscriptions/{ws.SubscriptionId}/resourceGroups/{ws.ResourceGroup}";

    /// <summary>The workspace's discovery document: the base URLs of its data-plane services (all this emulator).</summary>
    public JsonObject Discovery()
    {
        var root = Endpoint.ToString().TrimEnd('/');
        return new JsonObject
        {
            ["api"] = root,
            ["catalog"] = root,
            ["experimentation"] = root,
            ["gallery"] = root,
            ["history"] = root,
            ["hyperdrive"] = root,
            ["labeling"] = root,
            ["modelmanagement"] = root,
            ["pipelines"] = root,
            ["studio"] = "https://ml.azure.com",
        };
    }

    private JsonObject ComputeJson(MlWorkspace ws, string name)
    {
        var created = _options.Time.GetUtcNow().AddDays(-1);
        return new JsonObject
        {
            ["id"] = $"{ws.Id}/computes/{name}",
            ["name"] = name,
            ["type"] = $"{Provider}/workspaces/computes",
            ["location"] = ws.Location,
            ["systemData"] = SystemData(created, created, "strata-emulator"),
            ["properties"] = new JsonObject
            {
                ["computeType"] = "AmlCompute",
                ["computeLocation"] = ws.Location,
                ["provisioningState"] = "Succeeded",
                ["isAttachedCompute"] = false,
                ["disableLocalAuth"] = true,
                ["properties"] = new JsonObject
                {
                    ["vmSize"] = "STANDARD_DS3_V2",
                    ["vmPriority"] = "Dedicated",
                    ["osType"] = "Linux",
                    ["scaleSettings"] = new JsonObject
                    {
                        ["maxNodeCount"] = ws.Computes[name], ["minNodeCount"] = 0, ["nodeIdleTimeBeforeScaleDown"] = "PT120S",
                    },
                    ["allocationState"] = "Steady",
                    ["currentNodeCount"] = 0,
                    ["targetNodeCount"] = 0,
                },
            },
        };
    }

    private static string EnvKey(MlWorkspace ws, string name) => $"{ws.Id}/environments/{name}".ToUpperInvariant();

    private List<JsonObject> Versions(MlWorkspace ws, string name)
    {
        lock (_lock)
            return _environments.Where(e => e.Key.StartsWith(EnvKey(ws, name) + "/VERSIONS/", StringComparison.Ordinal))
                .Select(e => (JsonObject)e.Value.DeepClone()).ToList();
    }

    private List<JsonObject> Containers(MlWorkspace ws)
    {
        List<KeyValuePair<string, JsonObject>> all;
        lock (_lock) all = _environments.Where(e => e.Key.StartsWith(EnvKey(ws, ""), StringComparison.Ordinal)).ToList();
        return all.GroupBy(e => e.Key[..e.Key.IndexOf("/VERSIONS/", StringComparison.Ordinal)])
            .Select(g => ContainerJson(ws, ((string)g.First().Value["id"]!).Split('/')[^3], g.Select(e => e.Value).ToList())).ToList();
    }

    private JsonObject ContainerJson(MlWorkspace ws, string name, List<JsonObject> versions)
    {
        var names = versions.Select(v => (string)v["name"]!).ToList();
        var numeric = names.Select(n => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : (int?)null).ToList();
        var latest = numeric.All(n => n is not null) && numeric.Count > 0 ? numeric.Max()!.Value.ToString(CultureInfo.InvariantCulture) : names.LastOrDefault();
        var now = _options.Time.GetUtcNow();
        var properties = new JsonObject { ["isArchived"] = false, ["provisioningState"] = "Succeeded" };
        if (latest is not null) properties["latestVersion"] = latest;
        properties["nextVersion"] = numeric.All(n => n is not null) ? ((numeric.Max() ?? 0) + 1).ToString(CultureInfo.InvariantCulture) : null;
        return new JsonObject
        {
            ["id"] = $"{ws.Id}/environments/{name}",
            ["name"] = name,
            ["type"] = $"{Provider}/workspaces/environments",
            ["systemData"] = versions.FirstOrDefault()?["systemData"]?.DeepClone() ?? SystemData(now, now, "strata-emulator"),
            ["properties"] = properties,
        };
    }

    private (int, JsonNode?, Dictionary<string, string>) PutVersion(MlWorkspace ws, string name, string version, JsonObject body, JsonObject caller,
        Dictionary<string, string> headers)
    {
        var key = $"{EnvKey(ws, name)}/VERSIONS/{version.ToUpperInvariant()}";
        var properties = (JsonObject)body["properties"]!.DeepClone();
        lock (_lock)
        {
            if (_environments.TryGetValue(key, out var existing))
            {
                var same = (JsonObject)existing["properties"]!;
                if (!JsonNode.DeepEquals(same["image"], properties["image"]) || !JsonNode.DeepEquals(same["condaFile"], properties["condaFile"]))
                    throw new AzureApiException(409, "UserError", $"Environment {name}:{version} already exists with a different image or conda file; "
                        + "environment versions are immutable: create a new version.");
                return (200, existing.DeepClone(), headers);
            }
            var now = _options.Time.GetUtcNow();
            properties["environmentType"] = "UserCreated";
            properties["provisioningState"] = "Succeeded";
            properties["isAnonymous"] ??= false;
            properties["isArchived"] ??= false;
            properties["osType"] ??= "Linux";
            properties["autoRebuild"] ??= "Disabled";
            var json = new JsonObject
            {
                ["id"] = $"{ws.Id}/environments/{name}/versions/{version}",
                ["name"] = version,
                ["type"] = $"{Provider}/workspaces/environments/versions",
                ["systemData"] = SystemData(now, now, Caller(caller)),
                ["properties"] = properties,
            };
            _environments[key] = json;
            return (201, json.DeepClone(), headers);
        }
    }

    private static string Caller(JsonObject claims) => (string?)claims["appid"] ?? (string?)claims["oid"] ?? "unknown";

    /// <summary>The image of an environment id (ARM id, <c>azureml:name:version</c>, <c>azureml:name@latest</c>); null when there is none.</summary>
    private string? ImageOf(MlWorkspace ws, string environmentId)
    {
        string name, version;
        var s = environmentId.Split('/');
        var e = Array.FindIndex(s, x => Eq(x, "environments"));
        if (e >= 0 && s.Length > e + 3 && Eq(s[e + 2], "versions")) (name, version) = (s[e + 1], s[e + 3]);
        else if (environmentId.StartsWith("azureml:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = environmentId[8..];
            var at = rest.IndexOf('@', StringComparison.Ordinal);
            var colon = rest.LastIndexOf(':');
            if (at > 0) (name, version) = (rest[..at], "latest");
            else if (colon > 0) (name, version) = (rest[..colon], rest[(colon + 1)..]);
            else return null;
        }
        else return null;
        var versions = Versions(ws, name);
        if (version == "latest")
        {
            var latest = (string?)ContainerJson(ws, name, versions)["properties"]!["latestVersion"];
            if (latest is null) return null;
            version = latest;
        }
        return (string?)versions.FirstOrDefault(v => Eq((string)v["name"]!, version))?["properties"]?["image"];
    }

    private static string? ComputeName(string? computeId) => computeId is null ? null : computeId.Split('/')[^1];

    private MlJob FindJob(MlWorkspace ws, string name)
    {
        lock (_lock)
            return _jobs.TryGetValue(name, out var job) && job.Workspace == ws ? job : throw NotFound("jobs", name, ws);
    }

    private (int, JsonNode?, Dictionary<string, string>) PutJob(MlWorkspace ws, string name, string apiVersion, JsonObject body, JsonObject caller,
        Dictionary<string, string> headers)
    {
        var properties = (JsonObject)body["properties"]!;
        lock (_lock)
        {
            if (_jobs.TryGetValue(name, out var existing))
            {
                if (existing.Workspace == ws && JsonNode.DeepEquals(existing.Properties, properties)) return (200, JobJson(existing), headers);
                throw new AzureApiException(409, "UserError", $"A job named '{name}' already exists in workspace '{ws.Name}' (in state "
                    + $"{existing.Status}) with different properties; a job's definition cannot be changed. Use another name.");
            }
        }
        var jobType = (string)properties["jobType"]!;
        if (!Eq(jobType, "Command"))
            throw new AzureApiException(400, "UserError", $"The emulator runs Command jobs only, not {jobType} jobs.");
        var environmentId = (string)properties["environmentId"]!;
        var image = ImageOf(ws, environmentId)
            ?? throw new AzureApiException(404, "UserError", $"The environment '{environmentId}' was not found in workspace '{ws.Name}'.");
        var compute = ComputeName((string?)properties["computeId"]);
        if (compute is not null && !ws.Computes.ContainsKey(compute))
            throw new AzureApiException(400, "UserError", $"Compute '{compute}' was not found in workspace '{ws.Name}' "
                + $"(computes: {string.Join(", ", ws.Computes.Keys)}).");
        if ((string?)properties["limits"]?["timeout"] is { } timeout) _ = Duration(timeout);
        var now = _options.Time.GetUtcNow();
        var job = new MlJob
        {
            Name = name,
            Workspace = ws,
            Properties = (JsonObject)properties.DeepClone(),
            ApiVersion = apiVersion,
            Directory = Path.Combine(_workDirectory, "jobs", name),
            CreatedBy = Caller(caller),
            Identity = _entra.NewIdentity((string?)caller["tid"] ?? _entra.DefaultTenant),
            Compute = compute is null ? null : ws.Computes.Keys.First(c => Eq(c, compute)),
            Image = image,
            Created = now,
            Modified = now,
        };
        lock (_lock)
        {
            if (_jobs.ContainsKey(name)) throw new AzureApiException(409, "UserError", $"A job named '{name}' is being created.");
            _jobs[name] = job;
            job.History.Add("NotStarted");
        }
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(job.LogPath)!);
        File.WriteAllText(job.LogPath, "");
        job.Runner = Task.Run(() => RunAsync(job));
        return (201, JobJson(job), headers);
    }

    private static TimeSpan Duration(string iso)
    {
        try { return XmlConvert.ToTimeSpan(iso); }
        catch (FormatException) { throw new AzureApiException(400, "UserError", $"'{iso}' is not an ISO 8601 duration (e.g. PT1H30M)."); }
    }

    public JsonObject JobJson(MlJob job)
    {
        lock (job)
        {
            var properties = (JsonObject)job.Properties.DeepClone();
            properties["status"] = job.Status;
            properties["experimentName"] ??= "Default";
            properties["displayName"] ??= job.Name;
            properties["isArchived"] ??= false;
            properties["parameters"] = new JsonObject();
            properties["properties"] ??= new JsonObject();
            properties["tags"] ??= new JsonObject();
            properties["identity"] ??= new JsonObject { ["identityType"] = "AMLToken" };
            properties["environmentVariables"] ??= new JsonObject();
            properties["inputs"] ??= new JsonObject();
            properties["outputs"] ??= new JsonObject();
            properties["resources"] ??= new JsonObject { ["instanceCount"] = 1, ["properties"] = new JsonObject() };
            var ws = job.Workspace;
            properties["services"] = new JsonObject
            {
                ["Tracking"] = new JsonObject
                {
                    ["jobServiceType"] = "Tracking",
                    ["endpoint"] = $"azureml://{ws.Location}.api.azureml.ms/mlflow/v1.0{ws.Id}?",
                },
                ["Studio"] = new JsonObject
                {
                    ["jobServiceType"] = "Studio",
                    ["endpoint"] = $"https://ml.azure.com/runs/{job.Name}?wsid={ws.Id}&tid={job.Identity.TenantId}",
                },
            };
            return new JsonObject
            {
                ["id"] = $"{ws.Id}/jobs/{job.Name}",
                ["name"] = job.Name,
                ["type"] = $"{Provider}/workspaces/jobs",
                ["systemData"] = SystemData(job.Created, job.Modified, job.CreatedBy),
                ["properties"] = properties,
            };
        }
    }

    private (int, JsonNode?, Dictionary<string, string>) Cancel(MlWorkspace ws, MlJob job, string apiVersion, Dictionary<string, string> headers)
    {
        lock (job)
        {
            if (!job.IsTerminal && job.Status != "CancelRequested")
            {
                Transition(job, "CancelRequested");
                job.CancelRequested.TrySetResult();
            }
        }
        var operation = Uri.EscapeDataString($"jobs:{job.Name}");
        var location = $"{Endpoint}subscriptions/{ws.SubscriptionId}/providers/{Provider}/locations/{ws.Location}";
        headers["Location"] = $"{location}/mfeOperationResults/{operation}?api-version={apiVersion}";
        headers["Azure-AsyncOperation"] = $"{location}/mfeOperationsStatus/{operation}?api-version={apiVersion}";
        headers["Retry-After"] = "1";
        return (202, null, headers);
    }

    private (int, JsonNode?, Dictionary<string, string>) Operation(ArmRoute route, string apiVersion, Dictionary<string, string> headers)
    {
        var id = Uri.UnescapeDataString(route.Rest[0]);
        if (!id.StartsWith("jobs:", StringComparison.Ordinal) || Job(id[5..]) is not { } job)
            throw new AzureApiException(404, "ResourceNotFound", $"The operation '{id}' was not found.");
        bool done;
        lock (job) done = job.IsTerminal;
        if (route.Operation == "Operations.Status")
            return (200, new JsonObject { ["status"] = done ? "Succeeded" : "InProgress" }, headers);
        if (done) return (200, null, headers);
        headers["Location"] = $"{Endpoint}subscriptions/{route.Subscription}/providers/{Provider}/locations/{job.Workspace.Location}/mfeOperationResults/"
            + $"{route.Rest[0]}?api-version={apiVersion}";
        headers["Retry-After"] = "1";
        return (202, null, headers);
    }

    private void Transition(MlJob job, string status)
    {
        // Caller holds the job's lock.
        job.Status = status;
        job.Modified = _options.Time.GetUtcNow();
        job.History.Add(status);
        if (job.IsTerminal) job.Ended = job.Modified;
    }

    private bool Move(MlJob job, string status)
    {
        lock (job)
        {
            if (job.CancelRequested.Task.IsCompleted) return false;
            Transition(job, status);
            return true;
        }
    }

    private void End(MlJob job, string status, string? message = null)
    {
        lock (job)
        {
            if (message is not null)
                job.Error = new JsonObject
                {
                    ["error"] = new JsonObject { ["code"] = "UserError", ["message"] = message, ["messageFormat"] = "", ["details"] = new JsonArray() },
                    ["time"] = Timestamp(_options.Time.GetUtcNow()),
                };
            Transition(job, status);
        }
        _entra.Forget(job.Identity);
    }

    private void AppendLog(MlJob job, string line)
    {
        lock (job.LogLock) File.AppendAllText(job.LogPath, line + "\n");
    }

    private async Task<bool> WaitAsync(MlJob job, TimeSpan time)
    {
        await Task.WhenAny(Task.Delay(time, _options.Time, _shutdown.Token), job.CancelRequested.Task);
        _shutdown.Token.ThrowIfCancellationRequested();
        return !job.CancelRequested.Task.IsCompleted;
    }

    private SemaphoreSlim? Capacity(MlJob job)
    {
        if (job.Compute is null) return null;
        lock (_capacity)
        {
            var key = $"{job.Workspace.Id}/{job.Compute}";
            if (!_capacity.TryGetValue(key, out var slots)) _capacity[key] = slots = new SemaphoreSlim(job.Workspace.Computes[job.Compute]);
            return slots;
        }
    }

    private async Task RunAsync(MlJob job)
    {
        SemaphoreSlim? slots = null;
        var holding = false;
        try
        {
            if (!await WaitAsync(job, _options.PhaseDelay) || !Move(job, "Queued")) { End(job, "Canceled"); return; }
            if (_options.QueueReason is { } reason) lock (job) job.Warnings.Add(reason);
            if (_options.QueueTime > TimeSpan.Zero && !await WaitAsync(job, _options.QueueTime)) { End(job, "Canceled"); return; }
            slots = Capacity(job);
            if (slots is not null)
            {
                if (!slots.Wait(0))
                {
                    var nodes = job.Workspace.Computes[job.Compute!];
                    lock (job) job.Warnings.Add($"Queued: waiting for capacity on compute '{job.Compute}' (all {nodes} nodes busy).");
                    var acquired = slots.WaitAsync(_shutdown.Token);
                    await Task.WhenAny(acquired, job.CancelRequested.Task);
                    if (!acquired.IsCompleted)
                    {
                        _ = acquired.ContinueWith(t => { if (t.IsCompletedSuccessfully) slots.Release(); }, TaskScheduler.Default);
                        End(job, "Canceled");
                        return;
                    }
                    await acquired;
                }
                holding = true;
            }
            lock (job) job.Warnings.Clear();
            foreach (var phase in new[] { "Preparing", "Starting" })
                if (!Move(job, phase) || !await WaitAsync(job, _options.PhaseDelay)) { End(job, "Canceled"); return; }

            var image = job.Image!;
            if (!_options.Images.ContainsKey(image) && _options.ContainerRunner is { Count: > 0 })
                _options.Images.TryAdd(image, new EmulatedImage { ContainerImage = image });
            if (!_options.Images.TryGetValue(image, out var emulated))
            {
                AppendLog(job, $"Failed to pull image {image}: not found or unauthorized.");
                End(job, "Failed", $"Failed to pull Docker image {image}. This error may occur because the Docker image name or tag is wrong, or the "
                    + "compute cannot access the container registry.");
                return;
            }
            System.IO.Directory.CreateDirectory(job.Directory);
            JobProcess process;
            lock (job)
            {
                if (job.CancelRequested.Task.IsCompleted) { Transition(job, "Canceled"); return; }
                process = JobProcess.Start(Command(job, emulated), line => AppendLog(job, line));
                job.Process = process;
                job.Started = _options.Time.GetUtcNow();
                Transition(job, "Running");
            }
            var timeoutText = (string?)job.Properties["limits"]?["timeout"];
            var timeout = timeoutText is null ? TimeSpan.FromDays(30) : Duration(timeoutText);
            var timedOut = Task.Delay(timeout, _options.Time, _shutdown.Token);
            var ended = await Task.WhenAny(process.Exited, job.CancelRequested.Task, timedOut);
            if (ended != process.Exited)
                await process.TerminateAsync(Task.Delay(_options.StopGracePeriod, _options.Time, _shutdown.Token));
            await process.KillAsync();
            await process.WaitForExitAsync(_shutdown.Token);
            lock (job) job.ExitCode = process.ExitCode;
            if (ended == job.CancelRequested.Task) { End(job, "Canceled"); return; }
            Move(job, "Finalizing");
            await Task.Delay(_options.PhaseDelay, _options.Time, _shutdown.Token);
            if (ended == timedOut)
                End(job, "Failed", $"The job ran longer than its limits.timeout of {timeoutText} and was stopped (JobTimeout).");
            else if (process.ExitCode != 0)
                End(job, "Failed", $"Execution failed. User process '/bin/bash' exited with status code "
                    + $"{process.ExitCode.ToString(CultureInfo.InvariantCulture)}. Please check log file 'user_logs/std_log.txt' for error details.");
            else
                End(job, "Completed");
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // the emulator is shutting down
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            End(job, "Failed", $"Unable to start the job's process: {e.Message}");
        }
        catch (Exception e)
        {
            End(job, "Failed", $"Internal error of the emulator: {e}");
        }
        finally
        {
            if (holding) slots!.Release();
        }
    }

    /// <summary>The environment Azure ML compute gives a job: its managed identity, its run's coordinates, and trust of the emulator.</summary>
    public Dictionary<string, string> IdentityEnvironment(Entra.ManagedIdentity identity) => new(StringComparer.Ordinal)
    {
        ["MSI_ENDPOINT"] = new Uri(Endpoint, "msi/token").ToString(),
        ["MSI_SECRET"] = identity.Secret,
        ["DEFAULT_IDENTITY_CLIENT_ID"] = identity.ClientId,
        ["SSL_CERT_FILE"] = _caBundle,
        ["REQUESTS_CA_BUNDLE"] = _caBundle,
    };

    private JobCommand Command(MlJob job, EmulatedImage image)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, v) in image.Environment ?? new Dictionary<string, string>()) environment[k] = v;
        foreach (var (k, v) in _options.JobEnvironment) environment[k] = v;
        foreach (var (k, v) in (JsonObject?)job.Properties["environmentVariables"] ?? []) environment[k] = (string?)v;
        foreach (var (k, v) in IdentityEnvironment(job.Identity)) environment[k] = v;
        var ws = job.Workspace;
        environment["AZUREML_RUN_ID"] = job.Name;
        environment["AZUREML_ARM_SUBSCRIPTION"] = ws.SubscriptionId;
        environment["AZUREML_ARM_RESOURCEGROUP"] = ws.ResourceGroup;
        environment["AZUREML_ARM_WORKSPACE_NAME"] = ws.Name;
        environment["AZUREML_EXPERIMENT_NAME"] = (string?)job.Properties["experimentName"] ?? "Default";
        var command = (string)job.Properties["command"]!;
        var volumes = image.ContainerImage is null ? null : new Dictionary<string, string> { [_caBundle] = _caBundle };
        return new JobCommand(image.ContainerImage is null ? ["/bin/bash", "-c", command] : ["/bin/bash"],
            image.ContainerImage is null ? [] : ["-c", command], environment, image.WorkingDirectory ?? job.Directory)
        {
            Image = image.ContainerImage,
            ContainerRunner = _options.ContainerRunner,
            RunnerEnvironment = _options.ContainerRunnerEnvironment,
            InheritEnvironment = _options.InheritEnvironment,
            WithheldPrefixes = ["AZURE_", "AZUREML_", "MSI_", "IDENTITY_", "SSL_CERT_", "REQUESTS_CA_BUNDLE"],
            Volumes = volumes,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        await JobProcess.StopAllAsync(Jobs().Select(j => (j.Process, j.Runner)).ToArray());
        _shutdown.Dispose();
    }

    // ---- data plane: run history and log files ----

    /// <summary>A run's details as run history answers them, with its log files as signed URLs.</summary>
    public JsonObject RunDetails(MlJob job, bool details)
    {
        lock (job)
        {
            var run = new JsonObject
            {
                ["runId"] = job.Name,
                ["runUuid"] = DeterministicGuid(job.Name),
                ["status"] = job.Status,
                ["target"] = job.Compute,
                ["experimentId"] = DeterministicGuid((string?)job.Properties["experimentName"] ?? "Default"),
                ["createdUtc"] = Timestamp(job.Created),
                ["startTimeUtc"] = job.Started is { } s ? Timestamp(s) : null,
                ["endTimeUtc"] = job.Ended is { } e ? Timestamp(e) : null,
                ["properties"] = new JsonObject(),
                ["tags"] = new JsonObject(),
                ["warnings"] = new JsonArray(job.Warnings.Select(w => (JsonNode)new JsonObject { ["source"] = "Scheduler", ["message"] = w }).ToArray()),
                ["error"] = job.Error?.DeepClone(),
                ["runDefinition"] = new JsonObject { ["command"] = (string?)job.Properties["command"] },
                ["inputDatasets"] = new JsonArray(),
                ["outputDatasets"] = new JsonArray(),
                ["services"] = new JsonObject(),
            };
            if (details) run["logFiles"] = new JsonObject { ["user_logs/std_log.txt"] = LogUrl(job, "user_logs/std_log.txt") };
            return run;
        }
    }

    private static string DeterministicGuid(string text) => new Guid(MD5.HashData(Encoding.UTF8.GetBytes(text))).ToString();

    private string Signature(string path) =>
        Convert.ToBase64String(HMACSHA256.HashData(_signingKey, Encoding.UTF8.GetBytes(path)));

    private string LogUrl(MlJob job, string file)
    {
        var path = $"/azureml/ExperimentRun/dcid.{job.Name}/{file}";
        var expiry = _options.Time.GetUtcNow().AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return new Uri(Endpoint, path.TrimStart('/')) + $"?sv=2019-07-07&sr=b&sig={Uri.EscapeDataString(Signature(path))}&se={expiry}&sp=r";
    }

    /// <summary>Serves a log file by its signed URL, whole or from a byte offset (<c>Range: bytes=N-</c>).</summary>
    public async Task ServeLogAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!;
        var sig = context.Request.Query["sig"].ToString();
        if (sig.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sig), Encoding.UTF8.GetBytes(Signature(path))))
        {
            await BlobErrorAsync(context, 403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization "
                + "header is formed correctly including the signature.");
            return;
        }
        var s = path.Trim('/').Split('/');
        var job = s.Length >= 4 && s[2].StartsWith("dcid.", StringComparison.Ordinal) ? Job(s[2][5..]) : null;
        if (job is null || !string.Join('/', s[3..]).Equals("user_logs/std_log.txt", StringComparison.Ordinal))
        {
            await BlobErrorAsync(context, 404, "BlobNotFound", "The specified blob does not exist.");
            return;
        }
        byte[] content;
        lock (job.LogLock) content = File.Exists(job.LogPath) ? File.ReadAllBytes(job.LogPath) : [];
        var range = context.Request.Headers.Range.ToString();
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await BlobErrorAsync(context, 405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.");
            return;
        }
        context.Response.Headers["x-ms-blob-type"] = "AppendBlob";
        context.Response.Headers["Accept-Ranges"] = "bytes";
        context.Response.ContentType = "text/plain";
        if (range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            var spec = range[6..].Split('-');
            var start = long.Parse(spec[0], CultureInfo.InvariantCulture);
            var last = content.Length - 1L;
            var end = spec.Length > 1 && spec[1].Length > 0 ? Math.Min(long.Parse(spec[1], CultureInfo.InvariantCulture), last) : last;
            if (start >= content.Length)
            {
                context.Response.Headers["Content-Range"] = $"bytes */{content.Length}";
                await BlobErrorAsync(context, 416, "InvalidRange", "The range specified is invalid for the current size of the resource.");
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers["Content-Range"] = $"bytes {start}-{end}/{content.Length}";
            context.Response.ContentLength = end - start + 1;
            if (HttpMethods.IsGet(context.Request.Method))
                await context.Response.Body.WriteAsync(content.AsMemory((int)start, (int)(end - start + 1)), context.RequestAborted);
            return;
        }
        context.Response.StatusCode = 200;
        context.Response.ContentLength = content.Length;
        if (HttpMethods.IsGet(context.Request.Method)) await context.Response.Body.WriteAsync(content, context.RequestAborted);
    }

    private static async Task BlobErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        context.Response.Headers["x-ms-error-code"] = code;
        await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>",
            context.RequestAborted);
    }

    /// <summary>Run history: <c>/history/v1.0/subscriptions/.../workspaces/{ws}[/experiments/{e}]/runs/{id}[/details]</c>.</summary>
    public JsonNode History(string path)
    {
        var s = path.Trim('/').Split('/');
        // history v1.0 subscriptions {s} resourceGroups {rg} providers Microsoft.MachineLearningServices workspaces {ws} ...
        if (s.Length < 11 || !Eq(s[2], "subscriptions")) throw new AzureApiException(404, "NotFound", $"No run history route {path}.");
        var ws = Workspace(s[3], s[5], s[9]);
        var rest = s[10..];
        if (rest.Length >= 2 && Eq(rest[0], "experiments")) rest = rest[2..];
        if (rest is [var runs, var id, ..] && Eq(runs, "runs"))
        {
            var job = Job(id);
            if (job is null || job.Workspace != ws) throw new AzureApiException(404, "UserError", $"Run {id} was not found");
            return rest switch
            {
                [_, _] => RunDetails(job, false),
                [_, _, var d] when Eq(d, "details") => RunDetails(job, true),
                [_, _, var c] when Eq(c, "children") => new JsonObject { ["value"] = new JsonArray() },
                _ => throw new AzureApiException(404, "NotFound", $"No run history route {path}."),
            };
        }
        throw new AzureApiException(404, "NotFound", $"No run history route {path}.");
    }
}
