using System.Text.RegularExpressions;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>
/// README's "A tour of the command line", read from README.md and run top to bottom as a user would paste it: every command must
/// succeed. Only what a reader fills in is filled in: <c>&lt;run&gt;</c> (the run just made) and <c>&lt;id&gt;</c> (one of its
/// artifacts); the alias is this build's command, and the repository's relative paths are the clone's.
/// </summary>
public sealed partial class ReadmeTourTests
{
    [Fact]
    public async Task The_readmes_tour_runs_top_to_bottom_as_written()
    {
        var lines = TourLines();
        var alias = Assert.Single(lines, l => l.StartsWith("alias strata=", StringComparison.Ordinal));
        Assert.Contains("/src/Strata.Cli/bin/Release/net10.0/strata.dll", alias);
        using var cli = new StrataCli(RepoPaths.StrataDll);
        // Not STRATA_HOME: the tour's `strata init` makes the home in the directory the commands run in.
        var environment = new Dictionary<string, string?> { ["STRATA_HOME"] = null };
        string? run = null, artifact = null;
        var ran = 0;
        foreach (var line in lines.Where(l => !l.StartsWith("alias ", StringComparison.Ordinal)))
        {
            foreach (var command in line.Split(" && "))
            {
                var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(w => w.StartsWith("examples/", StringComparison.Ordinal) ? Path.Combine(RepoPaths.Root, w) : w)
                    .Select(w => w == "<run>" ? run ?? throw new InvalidOperationException("<run> before any run") : w)
                    .Select(w => w == "<id>" ? artifact ?? throw new InvalidOperationException("<id> before any artifact") : w)
                    .ToArray();
                if (words[0] == "dotnet")
                {
                    var (code, output) = await LocalServers.RunAsync("dotnet", words[1..]);
                    Assert.True(code == 0, $"{command}: {output}");
                }
                else
                {
                    Assert.Equal("strata", words[0]);
                    var result = cli.RunIn(cli.WorkingDirectory, environment, words[1..]);
                    Assert.True(result.ExitCode == 0, $"{command}: {result}");
                    if (words is [_, "pipeline", "run", ..])
                    {
                        run = cli.RunIn(cli.WorkingDirectory, environment, "run", "list", "--output", "json").Json[0].GetProperty("id").GetString();
                        Assert.Contains("✓ train completed", result.Out);
                        Assert.DoesNotContain("cached", result.Out); // a new store: nothing of an earlier run is reused
                        artifact = cli.RunIn(cli.WorkingDirectory, environment, "artifact", "list", "--run", run!, "--output", "json")
                            .Json[0].GetProperty("id").GetString();
                    }
                }
                ran++;
            }
        }
        Assert.True(ran >= 17, $"the tour has {ran} commands; was the block found whole?");
        Assert.True(Directory.Exists(Path.Combine(cli.WorkingDirectory, ".strata")), "strata init made the home where the commands ran");
    }

    /// <summary>The commands of the tour's bash block, without comments and blank lines.</summary>
    private static List<string> TourLines()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var tour = readme.IndexOf("## A tour of the command line", StringComparison.Ordinal);
        Assert.True(tour >= 0, "README.md has no tour");
        var block = TourBlock().Match(readme, tour);
        Assert.True(block.Success, "the tour has no bash block");
        return block.Groups[1].Value.Split('\n')
            .Select(l => (l.IndexOf(" #", StringComparison.Ordinal) is var hash and >= 0 ? l[..hash] : l).Trim())
            .Where(l => l.Length > 0)
            .ToList();
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex TourBlock();
}
