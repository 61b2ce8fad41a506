using System.Globalization;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;

namespace Strata.Aws.Signing;

/// <summary>
/// Signs an <see cref="HttpRequestMessage"/> with AWS Signature Version 4 (header form), as botocore and the AWS
/// test suite do: this class builds the canonical request; key derivation, the string to sign and the HMAC are the
/// AWS SDK's own <see cref="AWS4Signer.ComputeSignature(string, string, string, DateTime, string, string, string)"/>.
/// </summary>
/// <remarks>
/// The SDK's whole-request signer (<c>AWS4Signer.SignRequest</c>) works on the SDK's internal request model and
/// always adds and signs <c>X-Amz-Content-SHA256</c>; valid, but it can then not reproduce AWS's published examples,
/// which are the proof we test against (with botocore signing the same requests).
/// </remarks>
internal static class SigV4Signer
{
    public const string DateHeader = "X-Amz-Date";
    public const string SecurityTokenHeader = "X-Amz-Security-Token";

    /// <summary>Headers never signed: they may be changed or added on the way (proxies, the HTTP stack).</summary>
    private static readonly HashSet<string> Unsigned = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "user-agent", "expect", "connection", "transfer-encoding", "content-length", "x-amzn-trace-id",
    };

    /// <summary>
    /// Adds <c>X-Amz-Date</c>, <c>X-Amz-Security-Token</c> (for temporary credentials) and <c>Authorization</c>,
    /// signing the host, every header already on the request (content headers included) and the body.
    /// </summary>
    /// <param name="request">The request; its content, if any, must be buffered (its bytes are passed as <paramref name="body"/>).</param>
    /// <param name="body">The exact body bytes that will be sent.</param>
    /// <param name="service">The signing name (<c>sagemaker</c>, <c>logs</c>, ...).</param>
    /// <param name="region">The region of the credential scope.</param>
    /// <param name="credentials">The credentials; their token, if any, is sent and signed.</param>
    /// <param name="signedAt">The signing time (UTC).</param>
    /// <returns>What was signed and the signature.</returns>
    public static SigV4Signature Sign(HttpRequestMessage request, ReadOnlySpan<byte> body, string service, string region, ImmutableCredentials credentials,
        DateTime signedAt)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        if (!uri.IsAbsoluteUri) throw new ArgumentException("The request URI must be absolute.", nameof(request));
        signedAt = signedAt.Kind == DateTimeKind.Local ? signedAt.ToUniversalTime() : DateTime.SpecifyKind(signedAt, DateTimeKind.Utc);

        request.Headers.Remove(DateHeader);
        request.Headers.Remove(SecurityTokenHeader);
        request.Headers.Authorization = null;
        request.Headers.TryAddWithoutValidation(DateHeader, signedAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(credentials.Token))
            request.Headers.TryAddWithoutValidation(SecurityTokenHeader, credentials.Token);

        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = request.Headers.Host ?? (uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port.ToString(CultureInfo.InvariantCulture)}"),
        };
        void Add(string name, IEnumerable<string> values)
        {
            var key = name.ToLowerInvariant();
            if (Unsigned.Contains(key) || key == "host") return;
            var value = string.Join(",", values.Select(CanonicalHeaderValue));
            headers[key] = headers.TryGetValue(key, out var existing) ? existing + "," + value : value;
        }
        foreach (var (name, values) in request.Headers.NonValidated) Add(name, values);
        if (request.Content is not null)
            foreach (var (name, values) in request.Content.Headers.NonValidated) Add(name, values);

        var signedHeaders = string.Join(";", headers.Keys);
        var canonicalRequest = string.Join("\n",
            request.Method.Method,
            CanonicalPath(uri),
            CanonicalQuery(uri),
            string.Concat(headers.Select(h => $"{h.Key}:{h.Value}\n")),
            signedHeaders,
            Convert.ToHexStringLower(SHA256.HashData(body)));
        // Key derivation, string to sign and HMAC: the AWS SDK's own routines.
        var result = AWS4Signer.ComputeSignature(credentials.AccessKey, credentials.SecretKey, region, signedAt, service, signedHeaders, canonicalRequest);
        request.Headers.TryAddWithoutValidation("Authorization", result.ForAuthorizationHeader);
        return new SigV4Signature(canonicalRequest, result.Signature, result.ForAuthorizationHeader);
    }

    /// <summary>Header values trimmed, runs of spaces collapsed to one.</summary>
    private static string CanonicalHeaderValue(string value) =>
        string.Join(' ', value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The path as sent, each segment URI-encoded once more (SigV4 for services other than S3).</summary>
    private static string CanonicalPath(Uri uri)
    {
        var path = uri.AbsolutePath;
        if (path.Length == 0) return "/";
        return string.Join('/', path.Split('/').Select(Encode));
    }

    /// <summary>Query parameters decoded, RFC 3986-encoded, sorted by name then value.</summary>
    private static string CanonicalQuery(Uri uri)
    {
        if (uri.Query.Length <= 1) return "";
        return string.Join('&', uri.Query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
                return (Name: Encode(name), Value: Encode(value));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}"));
    }

    /// <summary>RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~, as UTF-8, upper-case hex.</summary>
    private static string Encode(string value)
    {
        var builder = new System.Text.StringBuilder(value.Length);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~') builder.Append(c);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}

/// <summary>One signature: the canonical request it covers, the hex signature and the Authorization header value.</summary>
internal sealed record SigV4Signature(string CanonicalRequest, string Signature, string Authorization);
