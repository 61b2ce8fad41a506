using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Strata.Emulators.Gcp;
using Strata.Emulators.Jobs;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>
/// The emulator holds requests to Google's own description (aiplatform's protos.json): unknown fields, missing REQUIRED
/// fields and wrong proto3 JSON types are refused as Google refuses them, OUTPUT_ONLY fields ignored; tokens only for a
/// correctly signed service-account JWT; jobs through their states; logs by filter; injected faults in Google's shape.
/// </summary>
public sealed class VertexEmulatorTests : IAsyncLifetime
{
    private const string Parent = "v1/projects/p/locations/europe-west1/customJobs";

    private VertexEmulator _emulator = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var options = new VertexEmulatorOptions { PhaseDelay = TimeSpan.FromMilliseconds(20), StopGracePeriod = TimeSpan.FromSeconds(2) };
        options.Images["shell:1"] = new EmulatedImage { Entrypoint = ["/bin/sh", "-c"] };
        options.UnavailableMachineTypes.Add("a2-ultragpu-8g");
        _emulator = await VertexEmulator.StartAsync(options);
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(_emulator.CreateServiceAccountKey()).ToGoogleCredential()
            .CreateScoped("https://www.googleapis.com/auth/cloud-platform");
        var token = await ((ITokenAccess)credential).GetAccessTokenForRequestAsync(); // Google.Apis.Auth signs a JWT to the key's token_uri
        _http = new HttpClient { BaseAddress = _emulator.Endpoint };
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
    }

    private static JsonObject Job(string script = "echo hi", string machine = "n1-standard-4") => new()
    {
        ["displayName"] = "t",
        ["jobSpec"] = new JsonObject
        {
            ["workerPoolSpecs"] = new JsonArray(new JsonObject
            {
                ["machineSpec"] = new JsonObject { ["machineType"] = machine },
                ["replicaCount"] = 1, // a number: proto3 JSON parsers take int64 either way, and answer with a string
                ["containerSpec"] = new JsonObject { ["imageUri"] = "shell:1", ["args"] = new JsonArray(script) },
            }),
        },
    };

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text.Length == 0 ? "{}" : text)!.AsObject());
    }

    private async Task<JsonObject> WaitAsync(string name, string state)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (true)
        {
            var (_, job) = await SendAsync(HttpMethod.Get, $"v1/{name}");
            if ((string?)job["state"] == state) return job;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"{name} is {job["state"]}, not {state}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_valid_job_runs_to_success_with_int64_answered_as_a_string_and_output_only_fields_ignored()
    {
        var job = Job("echo hello");
        job["state"] = "JOB_STATE_SUCCEEDED"; // OUTPUT_ONLY: ignored, as Google ignores it
        var (status, created) = await SendAsync(HttpMethod.Post, Parent, job);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("JOB_STATE_QUEUED", (string?)created["state"]);
        Assert.Equal("1", (string?)created["jobSpec"]!["workerPoolSpecs"]![0]!["replicaCount"]);
        Assert.Contains("custom_job.state", _emulator.IgnoredOutputOnlyFields);
        var done = await WaitAsync((string)created["name"]!, "JOB_STATE_SUCCEEDED");
        Assert.NotNull(done["startTime"]);
        Assert.NotNull(done["endTime"]);
    }

    [Theory]
    [InlineData("displayName", null, "custom_job.display_name; Message: Required field is not set")]
    [InlineData("colour", "\"red\"", "Unknown name \"colour\" at 'custom_job': Cannot find field.")]
    [InlineData("labels", "[\"a\"]", "custom_job.labels")]
    [InlineData("encryptionSpec", "{}", "custom_job.encryption_spec.kms_key_name; Message: Required field is not set")]
    public async Task A_body_that_breaks_the_CustomJob_message_is_refused_with_invalid_argument(string field, string? json, string message)
    {
        var job = Job();
        if (json is null) job.Remove(field);
        else job[field] = JsonNode.Parse(json);

        var (status, body) = await SendAsync(HttpMethod.Post, Parent, job);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_ARGUMENT", (string?)body["error"]!["status"]);
        Assert.Contains(message, (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.Empty(_emulator.JobNames);
    }

    [Fact]
    public async Task Nested_types_are_checked_durations_enums_and_nested_unknown_fields()
    {
        var badDuration = Job();
        badDuration["jobSpec"]!["scheduling"] = new JsonObject { ["timeout"] = "1h" };
        var badEnum = Job();
        badEnum["jobSpec"]!["workerPoolSpecs"]![0]!["machineSpec"]!["acceleratorType"] = "NVIDIA_TESLA_Z9";
        var nestedUnknown = Job();
        nestedUnknown["jobSpec"]!["workerPoolSpecs"]![0]!["containerSpec"]!["entrypoint"] = new JsonArray("x");
        var missingImage = Job();
        missingImage["jobSpec"]!["workerPoolSpecs"]![0]!["containerSpec"]!.AsObject().Remove("imageUri");

        var duration = await SendAsync(HttpMethod.Post, Parent, badDuration);
        var enumeration = await SendAsync(HttpMethod.Post, Parent, badEnum);
        var unknown = await SendAsync(HttpMethod.Post, Parent, nestedUnknown);
        var image = await SendAsync(HttpMethod.Post, Parent, missingImage);

        Assert.Contains("google.protobuf.Duration", (string?)duration.Body["error"]!["message"], StringComparison.Ordinal);
        Assert.Contains("custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type", (string?)enumeration.Body["error"]!["message"],
            StringComparison.Ordinal);
        Assert.Contains("Unknown name \"entrypoint\" at 'custom_job.job_spec.worker_pool_specs[0].container_spec'", (string?)unknown.Body["error"]!["message"],
            StringComparison.Ordinal);
        Assert.Contains("container_spec.image_uri; Message: Required field is not set", (string?)image.Body["error"]!["message"], StringComparison.Ordinal);
        Assert.All(new[] { duration, enumeration, unknown, image }, r => Assert.Equal(HttpStatusCode.BadRequest, r.Status));
    }

    [Fact]
    public async Task Calls_without_a_token_or_with_a_forged_jwt_are_refused()
    {
        using var anonymous = new HttpClient { BaseAddress = _emulator.Endpoint };
        using var list = await anonymous.GetAsync(Parent);
        var forged = JsonNode.Parse(_emulator.CreateServiceAccountKey())!.AsObject();
        using var other = System.Security.Cryptography.RSA.Create(2048);
        forged["private_key"] = other.ExportPkcs8PrivateKeyPem();
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(forged.ToJsonString()).ToGoogleCredential()
            .CreateScoped("https://www.googleapis.com/auth/cloud-platform");

        var refused = await Assert.ThrowsAsync<Google.Apis.Auth.OAuth2.Responses.TokenResponseException>(
            () => ((ITokenAccess)credential).GetAccessTokenForRequestAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal("invalid_grant", refused.Error.Error);
        Assert.Equal("Invalid JWT Signature.", refused.Error.ErrorDescription);
    }

    [Fact]
    public async Task A_job_goes_through_its_states_is_listed_by_label_cancelled_and_its_output_is_in_cloud_logging()
    {
        var job = Job("echo first line; sleep 300");
        job["labels"] = new JsonObject { ["strata-step-run"] = "abc" };
        var (_, created) = await SendAsync(HttpMethod.Post, Parent, job);
        var name = (string)created["name"]!;
        var id = name[(name.LastIndexOf('/') + 1)..];
        await WaitAsync(name, "JOB_STATE_RUNNING");
        while (!_emulator.LogLines(id).Contains("first line")) await Task.Delay(20); // the shell has started before it is cancelled

        var listed = await SendAsync(HttpMethod.Get, $"{Parent}?filter={Uri.EscapeDataString("labels.strata-step-run=\"abc\"")}");
        var other = await SendAsync(HttpMethod.Get, $"{Parent}?filter={Uri.EscapeDataString("labels.strata-step-run=\"xyz\"")}");
        var unknownParameter = await SendAsync(HttpMethod.Get, $"{Parent}?colour=red");
        var (cancelStatus, _) = await SendAsync(HttpMethod.Post, $"v1/{name}:cancel", new JsonObject());
        var cancelled = await WaitAsync(name, "JOB_STATE_CANCELLED");
        var again = await SendAsync(HttpMethod.Post, $"v1/{name}:cancel", new JsonObject());
        var logs = await SendAsync(HttpMethod.Post, "v2/entries:list", new JsonObject
        {
            ["resourceNames"] = new JsonArray("projects/p"),
            ["filter"] = $"resource.type=\"ml_job\" AND resource.labels.job_id=\"{id}\" AND resource.labels.task_name=\"workerpool0-0\"",
            ["orderBy"] = "timestamp asc",
        });
        var badLogs = await SendAsync(HttpMethod.Post, "v2/entries:list", new JsonObject { ["resourceNames"] = new JsonArray("projects/p"), ["colour"] = 1 });

        Assert.Equal(name, (string?)Assert.Single(listed.Body["customJobs"]!.AsArray())!["name"]);
        Assert.Null(other.Body["customJobs"]);
        Assert.Equal(HttpStatusCode.BadRequest, unknownParameter.Status);
        Assert.Equal(HttpStatusCode.OK, cancelStatus);
        Assert.Equal(1, (int?)cancelled["error"]!["code"]);
        Assert.Equal(HttpStatusCode.OK, again.Status); // cancelling a cancelled job changes nothing
        Assert.False(_emulator.IsRunning(id));
        var entry = Assert.Single(logs.Body["entries"]!.AsArray())!;
        Assert.Equal("first line", (string?)entry["textPayload"]);
        Assert.Equal("ml_job", (string?)entry["resource"]!["type"]);
        Assert.Equal(HttpStatusCode.BadRequest, badLogs.Status);
    }

    [Fact]
    public async Task A_failing_job_reports_the_exit_status_a_timeout_fails_it_and_no_capacity_keeps_it_pending()
    {
        var (_, failing) = await SendAsync(HttpMethod.Post, Parent, Job("exit 3"));
        var slow = Job("sleep 300");
        slow["jobSpec"]!["scheduling"] = new JsonObject { ["timeout"] = "1s" };
        var (_, timed) = await SendAsync(HttpMethod.Post, Parent, slow);
        var (_, pending) = await SendAsync(HttpMethod.Post, Parent, Job(machine: "a2-ultragpu-8g"));

        var failed = await WaitAsync((string)failing["name"]!, "JOB_STATE_FAILED");
        var timedOut = await WaitAsync((string)timed["name"]!, "JOB_STATE_FAILED");
        await WaitAsync((string)pending["name"]!, "JOB_STATE_PENDING");
        await Task.Delay(200);
        var stillPending = await WaitAsync((string)pending["name"]!, "JOB_STATE_PENDING");

        Assert.Contains("non-zero status of 3", (string?)failed["error"]!["message"], StringComparison.Ordinal);
        Assert.Contains("scheduling.timeout of 1s", (string?)timedOut["error"]!["message"], StringComparison.Ordinal);
        Assert.Null(stillPending["startTime"]);
    }

    [Fact]
    public async Task Injected_throttling_answers_in_googles_error_shape()
    {
        _emulator.ThrottleRate = 1;
        var (status, body) = await SendAsync(HttpMethod.Get, Parent);
        _emulator.ThrottleRate = 0;

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(429, (int?)body["error"]!["code"]);
        Assert.Equal("RESOURCE_EXHAUSTED", (string?)body["error"]!["status"]);
    }

    [Fact]
    public void The_shipped_protos_are_the_customjob_part_of_aiplatforms_protos_json()
    {
        var shipped = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "protos", "aiplatform-v1-customjob.json")))!;
        var v1 = shipped["nested"]!["google"]!["nested"]!["cloud"]!["nested"]!["aiplatform"]!["nested"]!["v1"]!["nested"]!;
        Assert.Equal("REQUIRED", (string?)v1["CustomJob"]!["fields"]!["displayName"]!["options"]!["(google.api.field_behavior)"]);
        // eng/gcp/setup.sh (run by test.sh) installs the npm package; without it, the committed part is all there is to check.
        var full = Path.Combine(RepoPaths.NodeModules, "@google-cloud", "aiplatform", "build", "protos", "protos.json");
        if (!File.Exists(full)) return;
        var original = JsonNode.Parse(File.ReadAllText(full))!;
        var compared = 0;
        void Compare(JsonNode mine, JsonNode theirs, string path)
        {
            foreach (var (name, type) in mine["nested"]?.AsObject() ?? [])
            {
                var source = theirs["nested"]?[name];
                Assert.True(source is not null, $"{path}.{name} is not in @google-cloud/aiplatform's protos.json");
                if (type!["fields"] is not null || type["values"] is not null)
                {
                    compared++;
                    Assert.True(JsonNode.DeepEquals(type["fields"] ?? type["values"], source!["fields"] ?? source["values"]),
                        $"{path}.{name} differs from @google-cloud/aiplatform's: run eng/gcp/extract-vertex-protos.py");
                }
                Compare(type, source!, $"{path}.{name}");
            }
        }
        Compare(shipped, original, "");
        Assert.True(compared > 20, $"only {compared} types compared");
    }
}
