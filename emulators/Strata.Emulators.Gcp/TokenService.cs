using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Strata.Emulators.Gcp;

/// <summary>
/// Google's OAuth 2.0 token endpoint for service accounts (<c>POST /token</c>, the key file's <c>token_uri</c>): a JWT bearer
/// assertion (RFC 7523) signed RS256 with the private key of a key file this emulator issued is exchanged for an access
/// token; anything else is refused as Google refuses it. The other APIs check bearer tokens against those issued here.
/// </summary>
internal sealed class TokenService(VertexEmulatorOptions options, Action<GcpRequestBody> record) : IGcpService
{
    public const string Operation = "oauth2.token";

    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string Email, RSA Key)> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Email, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    /// <summary>A new service-account key file's JSON (type service_account, an RSA key, token_uri pointing here).</summary>
    public string CreateKey(Uri endpoint, string project, string email)
    {
        var rsa = RSA.Create(2048);
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        lock (_lock) _keys[keyId] = (email, rsa);
        return new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = project,
            ["private_key_id"] = keyId,
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem() + "\n",
            ["client_email"] = email,
            ["client_id"] = "1" + string.Concat(RandomNumberGenerator.GetBytes(10).Select(b => (b % 10).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ["auth_uri"] = new Uri(endpoint, "auth").ToString(),
            ["token_uri"] = new Uri(endpoint, "token").ToString(),
            ["auth_provider_x509_cert_url"] = new Uri(endpoint, "certs").ToString(),
            ["universe_domain"] = "googleapis.com",
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The service account a bearer token was issued to; null when the header holds no live token of ours.</summary>
    public string? Caller(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        lock (_lock)
            return _tokens.TryGetValue(header[7..].Trim(), out var t) && t.Expires > options.Time.GetUtcNow() ? t.Email : null;
    }

    /// <summary>401 UNAUTHENTICATED unless authentication is off or the request carries a token issued here.</summary>
    public void Authenticate(HttpRequest request)
    {
        if (!options.RequireAuthentication || Caller(request) is not null) return;
        throw new GcpApiException(401, "UNAUTHENTICATED", request.Headers.Authorization.Count == 0
            ? "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication " +
              "credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
            : "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    }

    public string? OperationOf(HttpRequest request) =>
        request.Path.Value is "/token" or "/oauth2/v4/token" ? Operation : null;

    public bool Faults(string operation) => false;

    public async Task HandleAsync(HttpContext context, string operation)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        record(new GcpRequestBody(operation, context.Request.Path, 0, form is null ? "" : string.Join('&', form.Select(p => $"{p.Key}={p.Value}")),
            options.Time.GetUtcNow()));
        if (!HttpMethods.IsPost(context.Request.Method) || form is null)
            throw new GcpApiException(400, "invalid_request", "The token endpoint takes a form POST.");
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
            throw new GcpApiException(400, "unsupported_grant_type", $"Invalid grant_type: {form["grant_type"]}");
        var email = Verify(form["assertion"].ToString(), $"http://{context.Request.Host}{context.Request.Path}");
        var token = "ya29.emulator-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        lock (_lock) _tokens[token] = (email, options.Time.GetUtcNow() + Lifetime);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(new JsonObject
        {
            ["access_token"] = token,
            ["expires_in"] = (int)Lifetime.TotalSeconds - 1,
            ["token_type"] = "Bearer",
        }.ToJsonString(), context.RequestAborted);
    }

    /// <summary>Checks the assertion's signature against the key it names, and its claims; returns the service account.</summary>
    private string Verify(string assertion, string tokenUri)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3) throw new GcpApiException(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.");
        JsonObject header, claims;
        try
        {
            header = (JsonObject)JsonNode.Parse(Base64Url(parts[0]))!;
            claims = (JsonObject)JsonNode.Parse(Base64Url(parts[1]))!;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidCastException)
        {
            throw new GcpApiException(400, "invalid_grant", "Invalid JWT: the assertion is not a JSON Web Token.");
        }
        if ((string?)header["alg"] != "RS256") throw new GcpApiException(400, "invalid_grant", "Invalid JWT: the algorithm must be RS256.");
        var issuer = (string?)claims["iss"] ?? "";
        (string Email, RSA Key)[] candidates;
        lock (_lock)
            candidates = (string?)header["kid"] is { } kid && _keys.TryGetValue(kid, out var named) ? [named]
                : _keys.Values.Where(k => k.Email == issuer).ToArray();
        var signed = Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}");
        byte[] signature;
        try { signature = Base64Url(parts[2]); }
        catch (FormatException) { throw new GcpApiException(400, "invalid_grant", "Invalid JWT Signature."); }
        if (!candidates.Any(k => k.Email == issuer && k.Key.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)))
            throw new GcpApiException(400, "invalid_grant", "Invalid JWT Signature.");
        var now = options.Time.GetUtcNow();
        var iat = (long?)claims["iat"];
        var exp = (long?)claims["exp"];
        if (iat is null || exp is null || DateTimeOffset.FromUnixTimeSeconds(exp.Value) < now - Skew
            || DateTimeOffset.FromUnixTimeSeconds(iat.Value) > now + Skew || exp - iat > 3600)
            throw new GcpApiException(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your " +
                "iat and exp values in the JWT claim.");
        var audience = (string?)claims["aud"] ?? "";
        if (!audience.EndsWith(new Uri(tokenUri).AbsolutePath, StringComparison.Ordinal))
            throw new GcpApiException(400, "invalid_grant", $"Invalid JWT: the audience must be the token URI ({tokenUri}), not '{audience}'.");
        if (claims["scope"] is null && claims["target_audience"] is null)
            throw new GcpApiException(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
        return issuer;
    }

    private static byte[] Base64Url(string s)
    {
        var padded = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    /// <summary>OAuth's error shape: <c>{"error": "invalid_grant", "error_description": "..."}</c>.</summary>
    public async Task WriteErrorAsync(HttpContext context, GcpApiException error)
    {
        context.Response.StatusCode = error.Code;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(new JsonObject { ["error"] = error.Status, ["error_description"] = error.Message }.ToJsonString(),
            context.RequestAborted);
    }
}
