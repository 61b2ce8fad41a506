using Strata.Emulators.Jobs;

namespace Strata.Emulators.Aws;

/// <summary>How the emulator behaves: region and account, who may call it, which images it can run, and faults to inject.</summary>
public sealed class SageMakerEmulatorOptions : JobEmulatorOptions
{
    public string Region { get; set; } = "us-east-1";

    public string AccountId { get; set; } = "123456789012";

    /// <summary>Access key id → secret access key of the callers whose signatures are accepted.</summary>
    public Dictionary<string, string> Credentials { get; } = new(StringComparer.Ordinal);

    /// <summary>botocore's data directory, holding <c>sagemaker/2017-07-24/service-2.json</c> and <c>logs/2014-03-28/service-2.json</c>.</summary>
    public string BotocoreDataDirectory { get; set; } = "/usr/lib/python3/dist-packages/botocore/data";

    /// <summary>What every container run by the <see cref="JobEmulatorOptions.ContainerRunner"/> gets in its environment: what the execution role gives a real job.</summary>
    public Dictionary<string, string> ContainerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>How far a request's X-Amz-Date may be from now (AWS allows 5 minutes).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether request members the model does not define are rejected. AWS tends to ignore them; rejecting them here
    /// catches a misspelt member that AWS would silently drop.
    /// </summary>
    public bool RejectUnknownMembers { get; set; } = true;

    /// <summary>Whether the emulator checks its own responses against the model's output shapes (a 500 if one does not fit).</summary>
    public bool ValidateResponses { get; set; } = true;

    /// <summary>Called with each request once answered (on the request's thread), e.g. to log it.</summary>
    public Action<EmulatorRequest>? OnRequest { get; set; }
}

/// <summary>An AWS error answer: HTTP status, error type and message.</summary>
public sealed class EmulatedAwsException(int status, string type, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
}

/// <summary>One request the emulator answered, for tests to inspect: what was asked, the answer's status and error type, and the request body as sent.</summary>
public sealed record EmulatorRequest(string Service, string Operation, int Status, string? ErrorType, DateTimeOffset At, string Body = "");
