using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Strata.Emulators.Aws;

/// <summary>
/// Verifies AWS Signature Version 4 on an incoming request the way AWS does: recomputes the canonical request from what
/// arrived, derives the signing key from the secret of the access key named in the credential scope, and compares.
/// Written from the specification, independent of the client's signer.
/// </summary>
internal sealed class SigV4Verifier(IReadOnlyDictionary<string, string> secrets, string region, TimeSpan maxSkew, TimeProvider time)
{
    internal sealed record Failure(int Status, string Type, string Message);

    /// <returns>Null when the signature is valid; otherwise AWS's error.</returns>
    public Failure? Verify(HttpRequest request, byte[] body, string service)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(authorization))
            return new Failure(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        const string algorithm = "AWS4-HMAC-SHA256 ";
        if (!authorization.StartsWith(algorithm, StringComparison.Ordinal))
            return new Failure(403, "IncompleteSignatureException", $"Unsupported signature algorithm in Authorization header: '{authorization.Split(' ')[0]}'.");

        var parts = authorization[algorithm.Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("SignedHeaders", out var signedHeaderList) || !parts.TryGetValue("Signature", out var signature))
            return new Failure(403, "IncompleteSignatureException", $"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization={authorization}");

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
            return new Failure(403, "IncompleteSignatureException", $"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'");
        var (accessKey, date, scopeRegion, scopeService) = (scope[0], scope[1], scope[2], scope[3]);
        if (!secrets.TryGetValue(accessKey, out var secret))
            return new Failure(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
        if (scopeService != service)
            return new Failure(403, "InvalidSignatureException", $"Credential should be scoped to correct service: '{service}'. ");
        if (scopeRegion != region)
            return new Failure(403, "InvalidSignatureException", $"Credential should be scoped to a valid region. ");

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt))
            return new Failure(403, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        var now = time.GetUtcNow().UtcDateTime;
        if ((signedAt - now).Duration() > maxSkew)
            return new Failure(403, "InvalidSignatureException",
                $"Signature expired: {amzDate} is now earlier than {now.Subtract(maxSkew):yyyyMMdd'T'HHmmss'Z'} ({now:yyyyMMdd'T'HHmmss'Z'} - {maxSkew.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min.)");
        if (date != amzDate[..8])
            return new Failure(403, "InvalidSignatureException", $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{amzDate[..8]}', from '{amzDate}'.");

        var signedHeaders = signedHeaderList.Split(';');
        if (!signedHeaders.Contains("host"))
            return new Failure(403, "InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        if (request.Headers.ContainsKey("X-Amz-Security-Token") && !signedHeaders.Contains("x-amz-security-token"))
            return new Failure(403, "InvalidSignatureException", "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.");

        var canonical = CanonicalRequest(request, body, signedHeaders, signedHeaderList);
        var credentialScope = $"{date}/{scopeRegion}/{scopeService}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{credentialScope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date), scopeRegion), scopeService), "aws4_request");
        var expected = Hex(Hmac(key, stringToSign));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
            return new Failure(403, "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
                $"The Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{stringToSign}'\n");
        return null;
    }

    private static string CanonicalRequest(HttpRequest request, byte[] body, string[] signedHeaders, string signedHeaderList)
    {
        var target = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString();
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = q < 0 ? target : target[..q];
        var rawQuery = q < 0 ? "" : target[(q + 1)..];
        var path = rawPath.Length == 0 ? "/" : string.Join('/', rawPath.Split('/').Select(Encode));
        var query = string.Join('&', rawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                return (Name: Encode(Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq])), Value: Encode(eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..])));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}"));
        var headers = new StringBuilder();
        foreach (var name in signedHeaders)
        {
            var values = name == "host" ? [request.Host.Value ?? ""] : request.Headers[name].Select(v => v ?? "").ToArray();
            headers.Append(name).Append(':').Append(string.Join(",", values.Select(v => string.Join(' ', (v ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))))).Append('\n');
        }
        return $"{request.Method}\n{path}\n{query}\n{headers}\n{signedHeaderList}\n{Hex(SHA256.HashData(body))}";
    }

    private static string Encode(string value)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
