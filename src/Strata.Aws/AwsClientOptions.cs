using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Strata.Aws.Json;

namespace Strata.Aws;

/// <summary>Where and as whom the SageMaker and CloudWatch Logs clients call.</summary>
internal sealed class AwsClientOptions
{
    public required string Region { get; init; }

    public required AWSCredentials Credentials { get; init; }

    /// <summary>SageMaker's endpoint; default <c>https://api.sagemaker.&lt;region&gt;.amazonaws.com</c>.</summary>
    public Uri? SageMakerEndpoint { get; init; }

    /// <summary>CloudWatch Logs' endpoint; default <c>https://logs.&lt;region&gt;.amazonaws.com</c>.</summary>
    public Uri? LogsEndpoint { get; init; }

    public AwsRetryOptions Retry { get; init; } = new();

    /// <summary>The HTTP client to send with; default: one shared client.</summary>
    public HttpClient? HttpClient { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILogger? Logger { get; init; }

    internal static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    internal AwsJsonClient JsonClient(AwsJsonService service, Uri? endpoint) =>
        new(HttpClient ?? SharedHttp, service, endpoint ?? service.DefaultEndpoint(AwsCredentialSource.CheckRegion(Region)), Region, Credentials, Retry, Time,
            Logger);
}
