using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Strata.Aws.Json;
using Strata.Aws.Logs;
using Strata.Aws.Signing;
using static Strata.Aws.Tests.SageMaker.EmulatorHarness;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>
/// The emulator holds callers to AWS's contract — botocore's service models and SigV4 — and answers in AWS's error
/// shape; the client retries what AWS says may be retried, and nothing else.
/// </summary>
public sealed class ContractTests
{
    private static JsonObject ValidCreate(string name) =>
        JsonSerializer.SerializeToNode(Job(name, "true"), AwsJsonService.SageMaker.Json)!.AsObject();

    private static async Task<AwsServiceException> RejectedAsync(EmulatorHarness aws, string operation, JsonObject body, AwsJsonClient? client = null) =>
        await Assert.ThrowsAsync<AwsServiceException>(() => (client ?? aws.SageMaker.Json).SendRawAsync(operation, Encoding.UTF8.GetBytes(body.ToJsonString()), CancellationToken.None));

    /// <summary>Sends a signed request as is, to see the raw answer.</summary>
    private static async Task<(HttpStatusCode Status, HttpResponseMessage Response, JsonObject Body)> RawAsync(EmulatorHarness aws, string target, string service, string body, string secret = SecretKey)
    {
        using var http = new HttpClient();
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, aws.Emulator.Endpoint) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        SigV4Signer.Sign(request, bytes, service, "us-east-1", new ImmutableCredentials(AccessKey, secret, null), DateTime.UtcNow);
        var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return (response.StatusCode, response, json);
    }

    [Fact]
    public async Task A_missing_required_member_is_a_ValidationException()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(NewName());
        body.Remove("RoleArn");
        ((JsonObject)body["AlgorithmSpecification"]!).Remove("TrainingInputMode");

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.StartsWith("2 validation errors detected: ", error.ErrorMessage);
        Assert.Contains("Value null at 'roleArn' failed to satisfy constraint: Member must not be null", error.ErrorMessage);
        Assert.Contains("Value null at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must not be null", error.ErrorMessage);
        Assert.Single(aws.Emulator.Requests); // not retried
    }

    [Theory]
    [InlineData("bad_name")]
    [InlineData("-starts-with-a-dash")]
    [InlineData("ends-with-a-dash-")]
    public async Task A_training_job_name_off_the_pattern_is_a_ValidationException(string name)
    {
        await using var aws = await StartAsync();

        var error = await RejectedAsync(aws, "CreateTrainingJob", ValidCreate(name));

        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Equal($"1 validation error detected: Value '{name}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}", error.ErrorMessage);
    }

    [Fact]
    public async Task A_name_too_long_and_a_runtime_below_the_minimum_are_ValidationExceptions()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(new string('a', 64));
        body["StoppingCondition"]!["MaxRuntimeInSeconds"] = 0;

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Contains("at 'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63", error.ErrorMessage);
        Assert.Contains("Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1", error.ErrorMessage);
    }

    [Fact]
    public async Task An_unknown_member_is_rejected()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(NewName());
        body["AlgorithmSpecification"]!["ContainerEntryPoint"] = new JsonArray("/bin/sh"); // misspelt: ContainerEntrypoint

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Contains("at 'algorithmSpecification.containerEntryPoint' failed to satisfy constraint: Member must be one of the members of AlgorithmSpecification", error.ErrorMessage);
    }

    [Fact]
    public async Task A_value_outside_an_enum_is_a_ValidationException()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(NewName());
        body["AlgorithmSpecification"]!["TrainingInputMode"] = "Files";
        body["ResourceConfig"]!["InstanceType"] = "ml.m5.huge";

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Contains("Value 'Files' at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]", error.ErrorMessage);
        Assert.Contains("Value 'ml.m5.huge' at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set: [", error.ErrorMessage);
    }

    [Fact]
    public async Task Environment_and_argument_limits_of_the_model_apply()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(NewName());
        body["Environment"] = new JsonObject { ["1BAD"] = "x", ["LONG"] = new string('v', 513) };
        body["AlgorithmSpecification"]!["ContainerArguments"] = new JsonArray(new string('a', 257));

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Equal("3 validation errors detected: ", error.ErrorMessage[..30]);
        Assert.Contains("at 'environment.1BAD.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*", error.ErrorMessage);
        Assert.Contains("at 'environment.LONG.value' failed to satisfy constraint: Member must have length less than or equal to 512", error.ErrorMessage);
        Assert.Contains("at 'algorithmSpecification.containerArguments.1.member' failed to satisfy constraint: Member must have length less than or equal to 256", error.ErrorMessage);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_a_SerializationException()
    {
        await using var aws = await StartAsync();
        var body = ValidCreate(NewName());
        body["StoppingCondition"]!["MaxRuntimeInSeconds"] = "ten minutes";

        var error = await RejectedAsync(aws, "CreateTrainingJob", body);

        Assert.Equal("SerializationException", error.ErrorCode);
        Assert.Contains("stoppingCondition.maxRuntimeInSeconds", error.ErrorMessage);
    }

    [Fact]
    public async Task CloudWatch_Logs_requests_are_checked_against_their_own_model()
    {
        await using var aws = await StartAsync();

        var error = await RejectedAsync(aws, "GetLogEvents", new JsonObject { ["logGroupName"] = CloudWatchLogsClient.TrainingJobsLogGroup, ["limit"] = 0 }, aws.Logs.Json);

        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Contains("Value null at 'logStreamName' failed to satisfy constraint: Member must not be null", error.ErrorMessage);
        Assert.Contains("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", error.ErrorMessage);
    }

    [Fact]
    public async Task Errors_have_AWS_shape_on_the_wire()
    {
        await using var aws = await StartAsync();

        var (status, response, body) = await RawAsync(aws, "SageMaker.DescribeTrainingJob", "sagemaker", """{"TrainingJobName":"bad_name"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("com.amazon.coral.validate#ValidationException", (string?)body["__type"]);
        Assert.StartsWith("1 validation error detected: Value 'bad_name' at 'trainingJobName'", (string?)body["message"]);
        Assert.StartsWith("ValidationException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.NotEmpty(response.Headers.GetValues("x-amzn-RequestId").Single());
        Assert.Equal("application/x-amz-json-1.1", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_wrong_secret_key_is_a_403_InvalidSignatureException()
    {
        await using var aws = await StartAsync(secretKey: "not-the-secret");
        var name = NewName();

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.CreateTrainingJobAsync(Job(name, "true"), CancellationToken.None));
        var (status, _, body) = await RawAsync(aws, "SageMaker.DescribeTrainingJob", "sagemaker", """{"TrainingJobName":"x"}""", secret: "also-wrong");

        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Equal("InvalidSignatureException", error.ErrorCode);
        Assert.StartsWith("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.", error.ErrorMessage);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("InvalidSignatureException", (string?)body["__type"]);
        Assert.Equal(2, aws.Emulator.Requests.Count); // not retried, and no job was created
        Assert.All(aws.Emulator.Requests, r => Assert.Equal(403, r.Status));
    }

    [Fact]
    public async Task An_unknown_access_key_and_a_wrong_scope_are_refused()
    {
        await using var aws = await StartAsync();
        var stranger = new Strata.Aws.SageMaker.SageMakerClient(new AwsClientOptions
        {
            Region = "us-east-1",
            Credentials = new BasicAWSCredentials("AKIAUNKNOWNKEY000000", SecretKey),
            SageMakerEndpoint = aws.Emulator.Endpoint,
        });
        var otherRegion = new Strata.Aws.SageMaker.SageMakerClient(new AwsClientOptions
        {
            Region = "eu-west-1",
            Credentials = new BasicAWSCredentials(AccessKey, SecretKey),
            SageMakerEndpoint = aws.Emulator.Endpoint,
        });

        var unknown = await Assert.ThrowsAsync<AwsServiceException>(() => stranger.DescribeTrainingJobAsync("x", CancellationToken.None));
        var scope = await Assert.ThrowsAsync<AwsServiceException>(() => otherRegion.DescribeTrainingJobAsync("x", CancellationToken.None));
        var (status, _, body) = await RawAsync(aws, "SageMaker.DescribeTrainingJob", "logs", """{"TrainingJobName":"x"}""");

        Assert.Equal(("UnrecognizedClientException", HttpStatusCode.Forbidden), (unknown.ErrorCode, unknown.StatusCode));
        Assert.Equal(("InvalidSignatureException", HttpStatusCode.Forbidden), (scope.ErrorCode, scope.StatusCode));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("scoped to correct service: 'sagemaker'", (string?)body["message"]);
    }

    [Fact]
    public async Task A_body_changed_after_signing_is_refused()
    {
        await using var aws = await StartAsync();
        using var http = new HttpClient();
        var signed = Encoding.UTF8.GetBytes("""{"TrainingJobName":"job-a"}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, aws.Emulator.Endpoint) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"TrainingJobName":"job-b"}""")) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "SageMaker.DescribeTrainingJob");
        SigV4Signer.Sign(request, signed, "sagemaker", "us-east-1", new ImmutableCredentials(AccessKey, SecretKey, null), DateTime.UtcNow);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("InvalidSignatureException", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Injected_throttling_and_server_errors_are_retried_transparently()
    {
        await using var aws = await StartAsync(o =>
        {
            o.ThrottleRate = 0.3;
            o.ServerErrorRate = 0.2;
            o.RandomSeed = 7;
        }, maxRetries: 20);
        var name = NewName();

        await aws.SageMaker.CreateTrainingJobAsync(Job(name, "echo through the storm"), CancellationToken.None);
        var (_, final) = await aws.WaitAsync(name);
        var stream = (await aws.Logs.TrainingJobStreamsAsync(name, CancellationToken.None)).Single().LogStreamName;
        var (events, _) = await aws.Logs.ReadForwardAsync(CloudWatchLogsClient.TrainingJobsLogGroup, stream, null, CancellationToken.None);

        Assert.Equal("Completed", final.TrainingJobStatus);
        Assert.Equal(["through the storm"], events.Select(e => e.Message));
        var requests = aws.Emulator.Requests;
        Assert.Contains(requests, r => r.ErrorType == "ThrottlingException" && r.Status == 400);
        Assert.Contains(requests, r => r.Status >= 500);
        Assert.Single(requests, r => r.Operation == "CreateTrainingJob" && r.Status == 200); // faults come before any effect
        Assert.Equal(requests.Count(r => r.ErrorType is not null), aws.SageMaker.Json.Retries + aws.Logs.Json.Retries);
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_retries_surfaces_as_ThrottlingException()
    {
        await using var aws = await StartAsync(o => o.ThrottleRate = 1.0, maxRetries: 3);

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => aws.SageMaker.DescribeTrainingJobAsync("x", CancellationToken.None));

        Assert.Equal("ThrottlingException", error.ErrorCode);
        Assert.True(error.IsThrottling);
        Assert.Equal(4, aws.Emulator.Requests.Count);
    }

    [Fact]
    public async Task Cancelling_a_call_stops_its_retries()
    {
        await using var aws = await StartAsync(o => o.ThrottleRate = 1.0);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var slow = new Strata.Aws.SageMaker.SageMakerClient(new AwsClientOptions
        {
            Region = "us-east-1",
            Credentials = new BasicAWSCredentials(AccessKey, SecretKey),
            SageMakerEndpoint = aws.Emulator.Endpoint,
            Retry = new AwsRetryOptions { MaxRetries = 100, BaseDelay = TimeSpan.FromSeconds(1) },
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.DescribeTrainingJobAsync("x", cancel.Token));
        Assert.True(aws.Emulator.Requests.Count < 5);
    }

    [Fact]
    public void The_models_patterns_all_compile_in_dotnet()
    {
        var sageMaker = ServiceModelFor("sagemaker", "2017-07-24");
        var logs = ServiceModelFor("logs", "2014-03-28");

        Assert.Empty(sageMaker.UncompilablePatterns);
        Assert.Empty(logs.UncompilablePatterns);
        Assert.Equal("SageMaker", sageMaker.TargetPrefix);
        Assert.Equal("sagemaker", sageMaker.SigningName);
        Assert.Equal("Logs_20140328", logs.TargetPrefix);
        Assert.Equal("logs", logs.SigningName);
    }

    [Fact]
    public void Models_load_gzipped_as_well()
    {
        using var temp = new global::Strata.Tests.Support.TempDirectory("strata-models");
        var dir = Path.Combine(temp.Path, "logs", "2014-03-28");
        Directory.CreateDirectory(dir);
        using (var source = File.OpenRead("/usr/lib/python3/dist-packages/botocore/data/logs/2014-03-28/service-2.json"))
        using (var target = new System.IO.Compression.GZipStream(File.Create(Path.Combine(dir, "service-2.json.gz")), System.IO.Compression.CompressionLevel.Fastest))
            source.CopyTo(target);

        var model = Strata.Emulators.Aws.ServiceModel.Load(temp.Path, "logs", "2014-03-28");

        Assert.True(model.HasOperation("GetLogEvents"));
    }

    private static Strata.Emulators.Aws.ServiceModel ServiceModelFor(string service, string version) =>
        Strata.Emulators.Aws.ServiceModel.Load("/usr/lib/python3/dist-packages/botocore/data", service, version);
}
