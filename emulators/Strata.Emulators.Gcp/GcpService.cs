using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Strata.Emulators.Gcp;

/// <summary>
/// An API served on the GCS emulator's endpoint besides storage (Vertex AI, Cloud Logging, the OAuth token endpoint), so one
/// endpoint serves them all. The host finds the operation, rolls the fault dice, logs the request; the service answers it.
/// </summary>
internal interface IGcpService
{
    /// <summary>The operation a request is for (e.g. <c>aiplatform.CreateCustomJob</c>); null when the path is not this service's.</summary>
    string? OperationOf(HttpRequest request);

    /// <summary>Whether injected 429/503 faults apply to this operation.</summary>
    bool Faults(string operation);

    /// <summary>Answers the request; errors as <see cref="GcpApiException"/>.</summary>
    Task HandleAsync(HttpContext context, string operation);

    /// <summary>Writes an error in this service's shape.</summary>
    Task WriteErrorAsync(HttpContext context, GcpApiException error);
}

/// <summary>An error answer of a Google API: HTTP status, canonical status name (INVALID_ARGUMENT, NOT_FOUND, ...) and message.</summary>
public sealed class GcpApiException(int code, string status, string message) : Exception(message)
{
    public int Code { get; } = code;

    public string Status { get; } = status;

    /// <summary>Google's JSON error shape for REST APIs (google.rpc.Status in an <c>error</c> member).</summary>
    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject { ["code"] = Code, ["message"] = Message, ["status"] = Status },
    };

    /// <summary>The canonical status of an HTTP status that faults use.</summary>
    public static string StatusOf(int code) => code switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
}
