namespace Strata.Artifacts;

/// <summary>Checks store-relative paths: no absolute paths, no '..', no empty or odd segments.</summary>
public static class ArtifactPath
{
    /// <summary>Returns the path in canonical form ('/'-separated, no leading or trailing '/').</summary>
    /// <exception cref="ArtifactException">The path is absolute, empty, or climbs out of the root.</exception>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var p = path.Replace('\\', '/');
        if (p.StartsWith('/') || Path.IsPathRooted(path) || (p.Length > 1 && p[1] == ':'))
            throw new ArtifactException($"Artifact path '{path}' is absolute; artifact paths are relative to the store root.");
        var segments = p.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
            throw new ArtifactException("Artifact path is empty.");
        foreach (var s in segments)
        {
            if (s is "." or "..")
                throw new ArtifactException($"Artifact path '{path}' contains '{s}'; paths may not leave the store root.");
            if (s.Any(c => char.IsControl(c)))
                throw new ArtifactException($"Artifact path '{path}' contains a control character.");
        }
        return string.Join('/', segments);
    }

    public static string Combine(params string[] parts) => Normalize(string.Join('/', parts));
}
