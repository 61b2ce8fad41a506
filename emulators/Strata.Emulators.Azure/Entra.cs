using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

using Strata.Emulators.Jobs;

namespace Strata.Emulators.Azure;

/// <summary>
/// Microsoft Entra ID's v2.0 endpoints for confidential clients, as MSAL (.NET and Python) calls them with the emulator as
/// authority host: OpenID configuration, instance discovery, and the token endpoint's client-credentials grant with a client
/// secret or a certificate-signed client assertion. Tokens are JWTs signed with the emulator's own key, audience from the
/// scope. Also the managed-identity endpoint jobs get (Azure ML compute's MSI_ENDPOINT/MSI_SECRET, App Service's
/// IDENTITY_ENDPOINT/IDENTITY_HEADER).
/// </summary>
internal sealed class Entra(AzureMlEmulatorOptions options)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    private readonly RSA _key = RSA.Create(2048);
    private readonly string _keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly Lock _lock = new();
    private readonly List<EntraApplication> _applications = [.. options.Applications];
    private readonly Dictionary<string, ManagedIdentity> _identities = new(StringComparer.Ordinal);

    /// <summary>A job's identity: its secret (MSI_SECRET), client id, object id and tenant.</summary>
    public sealed record ManagedIdentity(string Secret, string ClientId, string ObjectId, string TenantId);

    public void Add(EntraApplication application)
    {
        lock (_lock) _applications.Add(application);
    }

    private EntraApplication[] Applications()
    {
        lock (_lock) return _applications.ToArray();
    }

    public bool KnowsTenant(string tenant) => Applications().Any(a => a.TenantId.Equals(tenant, StringComparison.OrdinalIgnoreCase));

    public string DefaultTenant => Applications().FirstOrDefault()?.TenantId ?? "00000000-0000-0000-0000-000000000000";

    /// <summary>A new managed identity for a job, whose secret the managed-identity endpoint accepts.</summary>
    public ManagedIdentity NewIdentity(string tenant)
    {
        var identity = new ManagedIdentity(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)), Guid.NewGuid().ToString(),
            Guid.NewGuid().ToString(), tenant);
        lock (_lock) _identities[identity.Secret] = identity;
        return identity;
    }

    public void Forget(ManagedIdentity identity)
    {
        lock (_lock) _identities.Remove(identity.Secret);
    }

    /// <summary>Answers Entra requests; false when the path is not Entra's.</summary>
    public async Task<bool> TryHandleAsync(HttpContext context, Uri endpoint, Func<string, Task> record)
    {
        var path = context.Request.Path.Value ?? "";
        var segments = path.Trim('/').Split('/');
        var host = endpoint.GetLeftPart(UriPartial.Authority);
        if (segments is ["common", "discovery", "instance"] && HttpMethods.IsGet(context.Request.Method))
        {
            await record("");
            var authorize = context.Request.Query["authorization_endpoint"].ToString();
            var tenant = Uri.TryCreate(authorize, UriKind.Absolute, out var a) ? a.AbsolutePath.Trim('/').Split('/')[0] : "common";
            await WriteJsonAsync(context, 200, new JsonObject
            {
                ["tenant_discovery_endpoint"] = $"{host}/{tenant}/v2.0/.well-known/openid-configuration",
                ["api-version"] = "1.1",
                ["metadata"] = new JsonArray(new JsonObject
                {
                    ["preferred_network"] = endpoint.Authority,
                    ["preferred_cache"] = endpoint.Authority,
                    ["aliases"] = new JsonArray(endpoint.Authority),
                }),
            });
            return true;
        }
        if (segments.Length >= 3 && segments[1..] is ["v2.0", ".well-known", "openid-configuration"] or [".well-known", "openid-configuration"])
        {
            await record("");
            var tenant = segments[0];
            if (!KnowsTenant(tenant) && tenant is not ("common" or "organizations"))
                throw new EntraException(400, "invalid_tenant", 90002,
                    $"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.");
            await WriteJsonAsync(context, 200, new JsonObject
            {
                ["token_endpoint"] = $"{host}/{tenant}/oauth2/v2.0/token",
                ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "private_key_jwt", "client_secret_basic"),
                ["jwks_uri"] = $"{host}/{tenant}/discovery/v2.0/keys",
                ["response_modes_supported"] = new JsonArray("query", "fragment", "form_post"),
                ["subject_types_supported"] = new JsonArray("pairwise"),
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
                ["response_types_supported"] = new JsonArray("code", "id_token", "code id_token", "id_token token"),
                ["scopes_supported"] = new JsonArray("openid", "profile", "email", "offline_access"),
                ["issuer"] = $"{host}/{tenant}/v2.0",
                ["authorization_endpoint"] = $"{host}/{tenant}/oauth2/v2.0/authorize",
                ["device_authorization_endpoint"] = $"{host}/{tenant}/oauth2/v2.0/devicecode",
                ["end_session_endpoint"] = $"{host}/{tenant}/oauth2/v2.0/logout",
                ["tenant_region_scope"] = "EU",
                ["cloud_instance_name"] = "microsoftonline.com",
                ["cloud_graph_host_name"] = "graph.windows.net",
                ["msgraph_host"] = "graph.microsoft.com",
            });
            return true;
        }
        if (segments.Length == 4 && segments[1..] is ["discovery", "v2.0", "keys"] or ["discovery", "keys", _])
        {
            await record("");
            var p = _key.ExportParameters(false);
            await WriteJsonAsync(context, 200, new JsonObject
            {
                ["keys"] = new JsonArray(new JsonObject
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["kid"] = _keyId, ["n"] = Base64Url(p.Modulus!), ["e"] = Base64Url(p.Exponent!),
                }),
            });
            return true;
        }
        if (segments.Length == 4 && segments[1..] is ["oauth2", "v2.0", "token"] || segments.Length == 3 && segments[1..] is ["oauth2", "token"])
        {
            var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
            await record(form is null ? "" : string.Join('&', form.Select(f => $"{f.Key}={f.Value}")));
            if (!HttpMethods.IsPost(context.Request.Method) || form is null)
                throw new EntraException(400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
            await WriteJsonAsync(context, 200, Token(segments[0], form, $"{host}/{segments[0]}/oauth2/v2.0/token", segments.Length == 3));
            return true;
        }
        if (path == "/msi/token")
        {
            await record("");
            await WriteJsonAsync(context, 200, ManagedIdentityToken(context.Request));
            return true;
        }
        return false;
    }

    private JsonObject Token(string tenant, IFormCollection form, string tokenEndpoint, bool v1)
    {
        if (!KnowsTenant(tenant))
            throw new EntraException(400, "invalid_request", 90002, $"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
                + "tenant ID and are signing into the correct cloud.");
        var grant = form["grant_type"].ToString();
        if (grant != "client_credentials")
            throw new EntraException(400, "unsupported_grant_type", 70003, $"AADSTS70003: The app requested an unsupported grant type '{grant}'.");
        var clientId = form["client_id"].ToString();
        var app = Applications().FirstOrDefault(a => a.TenantId.Equals(tenant, StringComparison.OrdinalIgnoreCase)
            && a.ClientId.Equals(clientId, StringComparison.OrdinalIgnoreCase))
            ?? throw new EntraException(400, "unauthorized_client", 700016, $"AADSTS700016: Application with identifier '{clientId}' was not found in the "
                + $"directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant.");
        if (form.ContainsKey("client_secret"))
        {
            var secret = form["client_secret"].ToString();
            if (app.ClientSecret is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(app.ClientSecret)))
                throw new EntraException(401, "invalid_client", 7000215, $"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                    + $"request is the client secret value, not the client secret ID, for a secret added to app '{app.ClientId}'.");
        }
        else if (form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            VerifyAssertion(app, form["client_assertion"].ToString(), tokenEndpoint);
        else
            throw new EntraException(401, "invalid_client", 7000218, "AADSTS7000218: The request body must contain the following parameter: "
                + "'client_assertion' or 'client_secret'.");
        var scope = v1 ? form["resource"].ToString() : form["scope"].ToString();
        var audience = Audience(scope)
            ?? throw new EntraException(400, "invalid_scope", 1002012, $"AADSTS1002012: The provided value for scope {scope} is not valid. Client "
                + "credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
        var token = Issue(audience, app.TenantId, app.ObjectId, app.ClientId);
        var seconds = (int)Lifetime.TotalSeconds - 1;
        return new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = seconds, ["ext_expires_in"] = seconds, ["access_token"] = token };
    }

    /// <summary>The audience of a client-credentials scope (<c>https://management.azure.com/.default</c> → <c>https://management.azure.com</c>).</summary>
    private static string? Audience(string scope)
    {
        var first = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => s is not ("openid" or "profile" or "offline_access"));
        if (first is null) return null;
        if (first.EndsWith("/.default", StringComparison.Ordinal)) return first[..^"/.default".Length];
        return first.Contains("://", StringComparison.Ordinal) ? first.TrimEnd('/') : null;
    }

    private void VerifyAssertion(EntraApplication app, string assertion, string tokenEndpoint)
    {
        var parts = assertion.Split('.');
        JsonObject header, claims;
        try
        {
            if (parts.Length != 3) throw new FormatException();
            header = (JsonObject)JsonNode.Parse(FromBase64Url(parts[0]))!;
            claims = (JsonObject)JsonNode.Parse(FromBase64Url(parts[1]))!;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidCastException)
        {
            throw new EntraException(401, "invalid_client", 50027, "AADSTS50027: JWT token is invalid or malformed.");
        }
        var key = app.Certificate?.GetRSAPublicKey()
            ?? throw new EntraException(401, "invalid_client", 700027, $"AADSTS700027: The certificate with identifier used to sign the client assertion "
                + $"is not registered on application '{app.ClientId}'.");
        var signed = Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}");
        var padding = (string?)header["alg"] switch
        {
            "RS256" => RSASignaturePadding.Pkcs1,
            "PS256" => RSASignaturePadding.Pss,
            _ => null,
        };
        if (padding is null || !key.VerifyData(signed, FromBase64Url(parts[2]), HashAlgorithmName.SHA256, padding))
            throw new EntraException(401, "invalid_client", 700027, "AADSTS700027: The certificate with identifier used to sign the client assertion is "
                + $"not registered on application '{app.ClientId}', or the signature is invalid.");
        var now = options.Time.GetUtcNow();
        // MSAL.NET writes exp and nbf as strings, MSAL Python as numbers.
        if (Seconds(claims["exp"]) is not { } exp || DateTimeOffset.FromUnixTimeSeconds(exp) < now - Skew)
            throw new EntraException(401, "invalid_client", 700024, "AADSTS700024: Client assertion is not within its valid time range.");
        if (!string.Equals((string?)claims["sub"], app.ClientId, StringComparison.OrdinalIgnoreCase)
            || !string.Equals((string?)claims["iss"], app.ClientId, StringComparison.OrdinalIgnoreCase))
            throw new EntraException(401, "invalid_client", 700021,
                "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.");
        var audience = (string?)claims["aud"] ?? "";
        if (!audience.TrimEnd('/').Equals(tokenEndpoint, StringComparison.OrdinalIgnoreCase)
            && !audience.Contains("/oauth2/", StringComparison.OrdinalIgnoreCase))
            throw new EntraException(401, "invalid_client", 700212, $"AADSTS700212: No matching federated identity record found for presented assertion "
                + $"audience '{audience}'.");
    }

    private static long? Seconds(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue<long>(out var n) ? n
        : v.TryGetValue<double>(out var d) ? (long)d
        : v.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : null
        : null;

    private JsonObject ManagedIdentityToken(HttpRequest request)
    {
        var secret = request.Headers["secret"].FirstOrDefault() ?? request.Headers["X-IDENTITY-HEADER"].FirstOrDefault() ?? "";
        ManagedIdentity? identity;
        lock (_lock) identity = _identities.GetValueOrDefault(secret);
        if (identity is null) throw new AzureApiException(401, "Unauthorized", "The secret (MSI_SECRET / IDENTITY_HEADER) is missing or not valid.");
        var resource = request.Query["resource"].ToString();
        if (resource.Length == 0) throw new AzureApiException(400, "BadRequest", "Required query parameter 'resource' is missing.");
        var clientId = request.Query["clientid"].FirstOrDefault() ?? request.Query["client_id"].FirstOrDefault();
        if (clientId is { Length: > 0 } && !clientId.Equals(identity.ClientId, StringComparison.OrdinalIgnoreCase))
            throw new AzureApiException(400, "BadRequest", $"No managed identity with client id '{clientId}' is assigned to this compute.");
        var audience = Audience(resource.EndsWith("/.default", StringComparison.Ordinal) ? resource : resource + "/.default")!;
        var expires = options.Time.GetUtcNow() + Lifetime;
        return new JsonObject
        {
            ["access_token"] = Issue(audience, identity.TenantId, identity.ObjectId, identity.ClientId),
            ["expires_on"] = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = identity.ClientId,
        };
    }

    /// <summary>A signed access token, as Entra's v1 tokens for Azure resources look.</summary>
    public string Issue(string audience, string tenant, string objectId, string appId)
    {
        var now = options.Time.GetUtcNow().ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "RS256", ["kid"] = _keyId, ["x5t"] = _keyId };
        var claims = new JsonObject
        {
            ["aud"] = audience,
            ["iss"] = $"https://sts.windows.net/{tenant}/",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + (long)Lifetime.TotalSeconds,
            ["appid"] = appId,
            ["appidacr"] = "1",
            ["idp"] = $"https://sts.windows.net/{tenant}/",
            ["oid"] = objectId,
            ["sub"] = objectId,
            ["tid"] = tenant,
            ["ver"] = "1.0",
        };
        var signed = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return signed + "." + Base64Url(_key.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    /// <summary>The claims of a bearer token this emulator signed, live, for the audience; null with the reason otherwise.</summary>
    public (JsonObject? Claims, string Problem) Validate(string? authorization, string audience)
    {
        if (string.IsNullOrEmpty(authorization)) return (null, "The 'Authorization' header is missing.");
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return (null, "The 'Authorization' header is invalid: it must be 'Bearer <token>'.");
        var parts = authorization[7..].Trim().Split('.');
        try
        {
            if (parts.Length != 3 || !_key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), FromBase64Url(parts[2]), HashAlgorithmName.SHA256,
                RSASignaturePadding.Pkcs1))
                return (null, "The access token is invalid: its signature does not verify.");
            var claims = (JsonObject)JsonNode.Parse(FromBase64Url(parts[1]))!;
            if ((long?)claims["exp"] is not { } exp || DateTimeOffset.FromUnixTimeSeconds(exp) <= options.Time.GetUtcNow())
                return (null, "The access token expiry UTC time is earlier than current UTC time.");
            var aud = ((string?)claims["aud"] ?? "").TrimEnd('/');
            if (!aud.Equals(audience.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
                return (null, $"The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed "
                    + $"audiences '{audience}'.");
            return (claims, "");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidCastException or CryptographicException)
        {
            return (null, "The access token is invalid: it is not a JWT.");
        }
    }

    public static async Task WriteErrorAsync(HttpContext context, EntraException e, TimeProvider time)
    {
        var trace = Guid.NewGuid().ToString();
        await WriteJsonAsync(context, e.Status, new JsonObject
        {
            ["error"] = e.Error,
            ["error_description"] = $"{e.Message}\r\nTrace ID: {trace}\r\nCorrelation ID: {Guid.NewGuid()}\r\nTimestamp: "
                + time.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ssZ", CultureInfo.InvariantCulture),
            ["error_codes"] = new JsonArray(e.Code),
            ["timestamp"] = time.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ssZ", CultureInfo.InvariantCulture),
            ["trace_id"] = trace,
            ["correlation_id"] = Guid.NewGuid().ToString(),
            ["error_uri"] = "https://login.microsoftonline.com/error?code=" + e.Code.ToString(CultureInfo.InvariantCulture),
        });
    }

    public static async Task WriteJsonAsync(HttpContext context, int status, JsonNode json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string s)
    {
        var padded = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    /// <summary>A self-signed certificate for TLS on loopback (CN and SAN 127.0.0.1 and localhost), valid a year.</summary>
    public static X509Certificate2 CreateTlsCertificate() => SelfSignedCertificate.Create("CN=127.0.0.1", TimeSpan.FromDays(365));
}
