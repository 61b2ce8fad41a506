namespace Strata.Artifacts;

/// <summary>Checks store-relative paths: no absolute paths, no '..', no empty or odd segments.</summary>
public static class ArtifactPath
{
    /// <summary>Returns the path in canonical form ('/'-separated, no leading or trailing '/').</summary>
    /// <exception cref="ArtifactException">The path is absolute, empty, or climbs out of the root.</exception>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsCanonical(path)) return path;
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

    /// <summary>
    /// Whether a path is already in canonical form, checked without allocating: store paths are normalized when written,
    /// so most paths read back (once for each cached output of a run) are.
    /// </summary>
    private static bool IsCanonical(string path)
    {
        if (path.Length == 0 || path[0] == '/' || path[^1] == '/' || (path.Length > 1 && path[1] == ':')) return false;
        var segmentStart = 0;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != '/')
            {
                if (path[i] == '\\' || char.IsControl(path[i])) return false;
                continue;
            }
            var segment = path.AsSpan(segmentStart, i - segmentStart);
            if (segment.Length == 0 || segment is "." or "..") return false;
            segmentStart = i + 1;
        }
        return true;
    }
}
