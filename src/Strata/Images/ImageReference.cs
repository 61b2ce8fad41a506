namespace Strata.Images;

/// <summary>
/// An image name split the way registries read it: <c>localhost:5000/team/app:tag</c> is registry <c>localhost:5000</c>,
/// repository <c>team/app</c>, tag <c>tag</c>. A name without a registry host is on Docker Hub.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "registry-1.docker.io";

    /// <summary>The tag or digest a manifest request names.</summary>
    public string Reference => Digest ?? Tag ?? "latest";

    /// <exception cref="StrataConfigException">Not an image name.</exception>
    public static ImageReference Parse(string image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var text = image.Trim();
        if (text.Length == 0 || text.Any(char.IsWhiteSpace))
            throw new StrataConfigException($"'{image}' is not an image name (e.g. localhost:5000/team/app:1.0, all lower case).");
        string? digest = null;
        if (text.IndexOf('@', StringComparison.Ordinal) is var at and >= 0)
        {
            digest = text[(at + 1)..];
            text = text[..at];
        }
        string? tag = null;
        var lastSlash = text.LastIndexOf('/');
        if (text.LastIndexOf(':') is var colon and >= 0 && colon > lastSlash)
        {
            tag = text[(colon + 1)..];
            text = text[..colon];
        }
        var firstSlash = text.IndexOf('/', StringComparison.Ordinal);
        var first = firstSlash < 0 ? "" : text[..firstSlash];
        var (registry, repository) = first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? (first, text[(firstSlash + 1)..])
            : (DockerHub, firstSlash < 0 ? "library/" + text : text);
        if (repository.Length == 0 || repository.Any(char.IsAsciiLetterUpper) || tag is { Length: 0 } || digest is { Length: 0 })
            throw new StrataConfigException($"'{image}' is not an image name (e.g. localhost:5000/team/app:1.0).");
        return new ImageReference(registry, repository, tag, digest);
    }

    /// <summary>Whether the registry is on this machine, where plain http is allowed.</summary>
    public static bool IsLoopback(string registry)
    {
        var host = registry.StartsWith('[') ? registry[1..registry.IndexOf(']', StringComparison.Ordinal)]
            : registry.Split(':')[0];
        return host == "localhost" || host == "::1" || host.StartsWith("127.", StringComparison.Ordinal);
    }

    public override string ToString() =>
        $"{(Registry == DockerHub ? "" : Registry + "/")}{Repository}{(Tag is null ? "" : ":" + Tag)}{(Digest is null ? "" : "@" + Digest)}";
}
