using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Strata.Aws.Signing;

namespace Strata.Aws.Tests.Signing;

/// <summary>
/// The signer against AWS's published Signature Version 4 examples, and against botocore (the AWS CLI's and boto3's
/// signer, Debian python3-botocore) signing the same requests at the same time.
/// </summary>
public sealed class SigV4SignerTests
{
    // The credentials and time of AWS's Signature Version 4 examples and test suite.
    private static readonly ImmutableCredentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    private static readonly DateTime ExampleTime = new(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc);

    private const string SuiteToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    private static HttpRequestMessage Request(string method, string url, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    private static string Authorization(HttpRequestMessage request) => string.Join(",", request.Headers.NonValidated["Authorization"]);

    [Fact]
    public void Signs_the_documented_IAM_ListUsers_example()
    {
        // "Create a signed AWS API request" in the IAM user guide: GET ListUsers, 2015-08-30T12:36:00Z.
        var request = Request("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08");
        request.Content = new ByteArrayContent([]);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");

        var signature = SigV4Signer.Sign(request, [], "iam", "us-east-1", Example, ExampleTime);

        Assert.Equal("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", signature.Signature);
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            Authorization(request));
        Assert.Equal("20150830T123600Z", string.Join(",", request.Headers.NonValidated["X-Amz-Date"]));
    }

    [Fact]
    public void Derives_the_documented_signing_key()
    {
        // "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
        var key = Amazon.Runtime.Internal.Auth.AWS4Signer.ComposeSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "20120215", "iam");

        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d", Convert.ToHexStringLower(key));
    }

    // Cases of AWS's Signature Version 4 test suite (region us-east-1, service "service", host example.amazonaws.com).
    [Theory]
    [InlineData("get-vanilla", "GET", "/", "", "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("post-vanilla", "POST", "/", "", "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    [InlineData("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", "", "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]
    [InlineData("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")]
    [InlineData("post-header-value-case", "POST", "/", "My-Header1: VALUE1", "host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d")]
    [InlineData("get-header-value-trim", "GET", "/", "My-Header1: value1|My-Header2: \"a   b   c\"", "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")]
    public void Signs_the_test_suite_cases(string name, string method, string path, string headers, string signedHeaders, string expected)
    {
        var parsed = headers.Length == 0 ? [] : headers.Split('|').Select(h => h.Split(':', 2)).Select(h => (h[0], h[1].Trim())).ToArray();
        var request = Request(method, "https://example.amazonaws.com" + path, parsed);

        var signature = SigV4Signer.Sign(request, [], "service", "us-east-1", Example, ExampleTime);

        Assert.True(expected == signature.Signature, $"{name}: got {signature.Signature}");
        Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signedHeaders}, Signature={expected}", Authorization(request));
    }

    [Fact]
    public void Signs_the_test_suite_case_with_a_session_token()
    {
        // post-sts-header-before: the token is sent in X-Amz-Security-Token and signed.
        var request = Request("POST", "https://example.amazonaws.com/");

        var signature = SigV4Signer.Sign(request, [], "service", "us-east-1", new ImmutableCredentials(Example.AccessKey, Example.SecretKey, SuiteToken), ExampleTime);

        Assert.Equal("85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead", signature.Signature);
        Assert.Contains("SignedHeaders=host;x-amz-date;x-amz-security-token,", Authorization(request));
        Assert.Equal(SuiteToken, string.Join(",", request.Headers.NonValidated["X-Amz-Security-Token"]));
    }

    [Fact]
    public void Re_signing_replaces_the_previous_signature()
    {
        var request = Request("POST", "https://example.amazonaws.com/");
        SigV4Signer.Sign(request, [], "service", "us-east-1", Example, ExampleTime.AddDays(1));

        var signature = SigV4Signer.Sign(request, [], "service", "us-east-1", Example, ExampleTime);

        Assert.Equal("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", signature.Signature);
        Assert.Single(request.Headers.NonValidated["Authorization"]);
        Assert.Single(request.Headers.NonValidated["X-Amz-Date"]);
    }

    public static TheoryData<string, string, string, string, string, string?, string, string> BotocoreCases => new()
    {
        // name, method, url, target header, body, session token, service, region
        { "sagemaker-create", "POST", "https://api.sagemaker.us-east-1.amazonaws.com/", "SageMaker.CreateTrainingJob",
            """{"TrainingJobName":"strata-3f2a","Environment":{"NOTE":"héllo wörld ✓"},"StoppingCondition":{"MaxRuntimeInSeconds":3600}}""", null, "sagemaker", "us-east-1" },
        { "logs-get-events", "POST", "https://logs.eu-west-1.amazonaws.com/", "Logs_20140328.GetLogEvents",
            """{"logGroupName":"/aws/sagemaker/TrainingJobs","logStreamName":"strata-3f2a/algo-1-1700000000","startFromHead":true}""", null, "logs", "eu-west-1" },
        { "emulator-port-and-token", "POST", "http://127.0.0.1:41234/", "SageMaker.DescribeTrainingJob",
            """{"TrainingJobName":"x"}""", "FwoGZXIvYXdzEXAMPLE//token+with/slashes==", "sagemaker", "ap-southeast-2" },
        { "empty-body", "POST", "https://api.sagemaker.us-west-2.amazonaws.com/", "SageMaker.StopTrainingJob", "", null, "sagemaker", "us-west-2" },
        { "get-with-query", "GET", "https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers&PathPrefix=%2Fdivision_abc%2F", "", "", null, "iam", "us-east-1" },
    };

    [Theory]
    [MemberData(nameof(BotocoreCases))]
    public async Task Agrees_with_botocore(string name, string method, string url, string target, string body, string? token, string service, string region)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var credentials = new ImmutableCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", token);
        var when = new DateTime(2026, 11, 28, 9, 15, 42, DateTimeKind.Utc);
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        var headers = new Dictionary<string, string>();
        if (target.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
            headers["X-Amz-Target"] = target;
        }
        if (method == "POST")
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
            headers["Content-Type"] = "application/x-amz-json-1.1";
        }

        SigV4Signer.Sign(request, bytes, service, region, credentials, when);
        var botocore = (await BotocoreAsync(new JsonObject
        {
            ["method"] = method,
            ["url"] = url,
            ["headers"] = JsonSerializer.SerializeToNode(headers),
            ["body_base64"] = Convert.ToBase64String(bytes),
            ["service"] = service,
            ["region"] = region,
            ["access_key"] = credentials.AccessKey,
            ["secret_key"] = credentials.SecretKey,
            ["token"] = token,
            ["amz_date"] = when.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture),
        }))[0]!;

        Assert.True(botocore["authorization"]!.GetValue<string>() == Authorization(request),
            $"{name}: botocore signed\n{botocore["authorization"]}\nover\n{botocore["canonical_request"]}\nbut we sent\n{Authorization(request)}");
        if (token is not null)
            Assert.Equal(token, string.Join(",", request.Headers.NonValidated["X-Amz-Security-Token"]));
    }

    private static async Task<JsonArray> BotocoreAsync(params JsonObject[] requests)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Signing", "botocore_sign.py");
        // Debian's interpreter: python3-botocore is installed for it (eng/install-prerequisites.sh).
        var start = new ProcessStartInfo("/usr/bin/python3", [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(new JsonArray(requests).ToJsonString());
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"botocore signing failed ({process.ExitCode}); is python3-botocore installed (eng/install-prerequisites.sh)?\n{await error}");
        return JsonNode.Parse(await output)!.AsArray();
    }
}
