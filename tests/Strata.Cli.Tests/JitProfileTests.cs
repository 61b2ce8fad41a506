using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>
/// Each `strata` command leaves a multi-core JIT profile for the next run of the same command (see JitProfile),
/// kept per user in the temporary directory; STRATA_JIT_PROFILE=off leaves none.
/// </summary>
public sealed class JitProfileTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private Dictionary<string, string?> Environment(string tmp, string? setting) => new()
    {
        ["STRATA_HOME"] = _cli.Home,
        ["TMPDIR"] = tmp,
        ["USER"] = "tester",
        ["STRATA_JIT_PROFILE"] = setting,
    };

    [Fact]
    public void A_command_leaves_a_profile_named_for_it_and_its_output_form()
    {
        var tmp = _cli.Combine("tmp");
        Directory.CreateDirectory(tmp);

        for (var run = 0; run < 2; run++)
        {
            var result = _cli.RunIn(_cli.WorkingDirectory, Environment(tmp, null), "stack", "list", "--output", "json");
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        var jit = Path.Combine(tmp, "strata-tester", "jit");
        if (System.Environment.ProcessorCount < 2)
        {
            Assert.False(Directory.Exists(jit)); // one core: nothing to compile ahead on
            return;
        }
        if (!OperatingSystem.IsWindows())
            foreach (var dir in new[] { jit, Path.GetDirectoryName(jit)! })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        var profile = Assert.Single(Directory.GetFiles(jit));
        Assert.Matches(@"^strata-[0-9a-f]{8}-cli-stack-list-json\.jitprofile$", Path.GetFileName(profile));
        Assert.True(new FileInfo(profile).Length > 0);
    }

    [Fact]
    public void A_profile_written_lately_is_replayed_without_being_written_again_and_an_older_one_is_written_again()
    {
        var tmp = _cli.Combine("tmp");
        Directory.CreateDirectory(tmp);
        void Run()
        {
            var result = _cli.RunIn(_cli.WorkingDirectory, Environment(tmp, null), "stack", "list");
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        Run();
        var jit = Path.Combine(tmp, "strata-tester", "jit");
        if (System.Environment.ProcessorCount < 2) return; // one core: no profile at all (see above)
        var profile = Assert.Single(Directory.GetFiles(jit));

        var lately = DateTime.UtcNow - TimeSpan.FromMinutes(1);
        File.SetLastWriteTimeUtc(profile, lately);
        Run();
        Assert.Equal(lately, File.GetLastWriteTimeUtc(profile));
        Assert.Equal([profile], Directory.GetFileSystemEntries(jit)); // the link it was started through is gone

        var old = DateTime.UtcNow - JitProfile.GatherInterval - TimeSpan.FromMinutes(1);
        File.SetLastWriteTimeUtc(profile, old);
        Run();
        Assert.True(File.GetLastWriteTimeUtc(profile) > old + JitProfile.GatherInterval, "an old profile is recorded again");
        Assert.True(new FileInfo(profile).Length > 0);
    }

    [Fact]
    public void Turned_off_a_command_leaves_no_profile()
    {
        var tmp = _cli.Combine("tmp");
        Directory.CreateDirectory(tmp);

        var result = _cli.RunIn(_cli.WorkingDirectory, Environment(tmp, "off"), "stack", "list");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(Directory.Exists(Path.Combine(tmp, "strata-tester")));
    }
}
