using System.ComponentModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Strata.Images;

public sealed class ContainerRegistryConfig
{
    [Description("Where job images go: the registry host and an optional repository prefix, e.g. localhost:5000/team or " +
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team. Required.")]
    public required string Uri { get; set; }

    [Description("User name for pushing and pulling; give it as a secret reference, e.g. {{registry.username}}.")]
    [Secret]
    public string? Username { get; set; }

    [Description("Password or token for pushing and pulling; give it as a secret reference, e.g. {{registry.password}}.")]
    [Secret]
    public string? Password { get; set; }

    [Description("Allow plain http to a registry that is not on this machine (loopback registries always may use http).")]
    public bool Insecure { get; set; }
}

/// <summary>
/// An OCI distribution registry that job images are pushed to and pulled from. It answers whether an image is there
/// (a manifest HEAD, so nothing is built or pushed twice) and says why it cannot be used before any job is submitted.
/// </summary>
public class ContainerRegistry
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private const string ManifestTypes = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " +
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

    private readonly Dictionary<string, string> _tokens = [];

    /// <exception cref="StrataConfigException">The URI is not a registry host with an optional path.</exception>
    public ContainerRegistry(string uri, string? username = null, string? password = null, bool insecure = false)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var text = uri.Trim().TrimEnd('/');
        if (text.Contains("://", StringComparison.Ordinal))
            text = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        Host = slash < 0 ? text : text[..slash];
        Prefix = slash < 0 ? "" : text[(slash + 1)..];
        if (Host.Length == 0 || Host.Any(char.IsWhiteSpace) || Prefix.Any(char.IsAsciiLetterUpper))
            throw new StrataConfigException($"Container registry uri '{uri}' is not a registry host with an optional lower-case path " +
                "(e.g. localhost:5000/team).");
        Username = username;
        Password = password;
        Insecure = insecure;
    }

    /// <summary>The registry's host (and port), e.g. <c>localhost:5000</c>.</summary>
    public string Host { get; }

    /// <summary>The repository prefix under which job images are pushed; may be empty.</summary>
    public string Prefix { get; }

    public string? Username { get; }
    public string? Password { get; }
    public bool Insecure { get; }

    /// <summary>Whether plain http is used for <paramref name="registry"/>: loopback hosts, and this registry when it is marked insecure.</summary>
    public bool UsesHttp(string registry) => ImageReference.IsLoopback(registry) || (Insecure && registry == Host);

    /// <summary>The name of a job image in this registry: <c>HOST/PREFIX/NAME:TAG</c>.</summary>
    public ImageReference ImageFor(string name, string tag) => new(Host, Prefix.Length == 0 ? name : $"{Prefix}/{name}", tag, null);

    /// <summary>Checks that the registry answers and takes the credentials, so a run fails before it submits anything.</summary>
    /// <exception cref="StrataConfigException">Unreachable, or the credentials are missing or refused.</exception>
    public virtual async Task CheckAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(Host, HttpMethod.Get, "/v2/", null, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new StrataConfigException($"Container registry {Host} answered /v2/ with {(int)response.StatusCode} {response.ReasonPhrase}; is it an OCI " +
                "distribution registry?");
    }

    /// <summary>The digest of <paramref name="image"/>'s manifest, or null when the registry does not have it.</summary>
    /// <exception cref="StrataConfigException">The image's registry cannot be reached or refuses the credentials.</exception>
    public virtual async Task<string?> FindManifestAsync(ImageReference image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var response = await SendAsync(image.Registry, HttpMethod.Head, $"/v2/{image.Repository}/manifests/{image.Reference}",
            $"repository:{image.Repository}:pull", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode)
            throw new StrataConfigException(
                $"Container registry {image.Registry} answered {(int)response.StatusCode} {response.ReasonPhrase} for image {image}.");
        return response.Headers.TryGetValues("Docker-Content-Digest", out var digests) ? digests.First() : image.Digest ?? "";
    }

    private async Task<HttpResponseMessage> SendAsync(string registry, HttpMethod method, string path, string? scope, CancellationToken cancellationToken)
    {
        var baseUri = new Uri($"{(UsesHttp(registry) ? "http" : "https")}://{registry}");
        HttpRequestMessage Request(AuthenticationHeaderValue? auth)
        {
            var request = new HttpRequestMessage(method, new Uri(baseUri, path));
            request.Headers.Accept.ParseAdd(ManifestTypes);
            request.Headers.Authorization = auth;
            return request;
        }
        var key = $"{registry} {scope}";
        string? token;
        lock (_tokens) _tokens.TryGetValue(key, out token);
        var response = await TrySendAsync(Request(token is null ? null : new AuthenticationHeaderValue("Bearer", token)), registry, baseUri,
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;

        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
        response.Dispose();
        var basic = Basic(registry);
        AuthenticationHeaderValue auth;
        if (challenge?.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) == true)
        {
            token = await TokenAsync(registry, challenge.Parameter ?? "", scope, basic, cancellationToken).ConfigureAwait(false);
            lock (_tokens) _tokens[key] = token;
            auth = new AuthenticationHeaderValue("Bearer", token);
        }
        else
        {
            auth = basic ?? throw NeedsCredentials(registry);
        }
        response = await TrySendAsync(Request(auth), registry, baseUri, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            response.Dispose();
            throw basic is null ? NeedsCredentials(registry) : Refused(registry);
        }
        return response;
    }

    private async Task<string> TokenAsync(string registry, string challenge, string? scope, AuthenticationHeaderValue? basic,
        CancellationToken cancellationToken)
    {
        var parameters = challenge.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"'), StringComparer.OrdinalIgnoreCase);
        if (!parameters.TryGetValue("realm", out var realm))
            throw new StrataConfigException($"Container registry {registry} asked for a token without saying where to get one.");
        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service)) query.Add("service=" + Uri.EscapeDataString(service));
        if ((scope ?? parameters.GetValueOrDefault("scope")) is { } s) query.Add("scope=" + Uri.EscapeDataString(s));
        var separator = realm.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        using var request = new HttpRequestMessage(HttpMethod.Get, realm + (query.Count == 0 ? "" : separator + string.Join('&', query)));
        request.Headers.Authorization = basic;
        using var response = await TrySendAsync(request, registry, new Uri(realm), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw basic is null ? NeedsCredentials(registry) : Refused(registry);
        if (!response.IsSuccessStatusCode)
            throw new StrataConfigException(
                $"Container registry {registry}'s token service {realm} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return (json.RootElement.TryGetProperty("token", out var t) ? t : json.RootElement.GetProperty("access_token")).GetString()!;
    }

    private static async Task<HttpResponseMessage> TrySendAsync(HttpRequestMessage request, string registry, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StrataConfigException($"Cannot reach container registry {registry} at {uri.GetLeftPart(UriPartial.Authority)}: " +
                $"{(e is TaskCanceledException ? "no answer in 30 s" : e.Message)}. Is it running, and is the address right?", e);
        }
        finally
        {
            request.Dispose();
        }
    }

    private AuthenticationHeaderValue? Basic(string registry) => registry == Host && Username is { Length: > 0 }
        ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}")))
        : null;

    private StrataConfigException NeedsCredentials(string registry) => new(registry == Host
        ? $"Container registry {registry} needs credentials: set the registry's username and password (as secret references, e.g. " +
          "--username={{registry.username}} --password={{registry.password}})."
        : $"Container registry {registry} needs credentials, and only {Host}'s are known; use a base image from {Host} or a public one.");

    private StrataConfigException Refused(string registry) =>
        new($"Container registry {registry} refused the credentials of user '{Username}': check the registry's username and password secrets.");
}

/// <summary>The <c>default</c> container registry: any OCI distribution registry.</summary>
internal sealed class DefaultContainerRegistryFlavor : ContainerRegistryFlavor
{
    public override string Name => "default";
    public override string Description => "Any OCI distribution registry (docker-registry, Harbor, ECR, Artifact Registry, ACR with a token): " +
        "job images are pushed here and pulled by the step operators.";
    public override Type ConfigType => typeof(ContainerRegistryConfig);

    public override ContainerRegistry Create(object config)
    {
        var c = (ContainerRegistryConfig)config;
        return new ContainerRegistry(c.Uri, c.Username, c.Password, c.Insecure);
    }
}
