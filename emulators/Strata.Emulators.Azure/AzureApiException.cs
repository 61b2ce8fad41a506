using System.Text.Json.Nodes;

namespace Strata.Emulators.Azure;

/// <summary>An error answer in ARM's shape: <c>{"error": {"code": ..., "message": ..., "details": [...]}}</c>.</summary>
internal sealed class AzureApiException(int status, string code, string message, JsonArray? details = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>Extra headers of the answer, e.g. WWW-Authenticate or Retry-After.</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public JsonObject ToJson()
    {
        var error = new JsonObject { ["code"] = Code, ["message"] = Message };
        if (details is { Count: > 0 }) error["details"] = details.DeepClone();
        return new JsonObject { ["error"] = error };
    }
}

/// <summary>An error of the Entra ID token endpoint, in OAuth's shape with AADSTS codes.</summary>
internal sealed class EntraException(int status, string error, int aadsts, string description) : Exception(description)
{
    public int Status { get; } = status;

    public string Error { get; } = error;

    public int Code { get; } = aadsts;
}
