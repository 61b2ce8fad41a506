namespace Strata;

/// <summary>
/// The directory holding the store, the default artifact root and secrets' key. Found in this order:
/// the <c>STRATA_HOME</c> environment variable; a project-local <c>.strata/</c> directory in the current directory
/// or one above it (made by <c>strata init</c>); <c>~/.strata</c>.
/// </summary>
public sealed class StrataHome
{
    public const string DirectoryName = ".strata";

    public StrataHome(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }

    /// <summary>Where the home was found: <c>STRATA_HOME</c>, <c>project</c> or <c>user</c>.</summary>
    public string Source { get; private init; } = "explicit";

    public string DatabasePath => System.IO.Path.Combine(Path, "strata.db");

    public string ArtifactsPath => System.IO.Path.Combine(Path, "artifacts");

    public static StrataHome Resolve(string? currentDirectory = null)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("STRATA_HOME");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return new StrataHome(fromEnvironment) { Source = "STRATA_HOME" };
        for (var dir = new DirectoryInfo(currentDirectory ?? Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, DirectoryName);
            if (Directory.Exists(candidate))
                return new StrataHome(candidate) { Source = "project" };
        }
        var user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new StrataHome(System.IO.Path.Combine(string.IsNullOrEmpty(user) ? System.IO.Path.GetTempPath() : user, DirectoryName)) { Source = "user" };
    }
}
