using Strata.Tests.Support;

namespace Strata.Tests;

public class JitProfileTests
{
    [Fact]
    public void The_first_run_of_a_build_drops_profiles_of_the_apps_other_builds_once_an_hour_old()
    {
        using var dir = new TempDirectory();
        var now = DateTime.UtcNow;
        string Profile(string name, TimeSpan age)
        {
            var path = dir.Combine(name);
            File.WriteAllText(path, "x");
            File.SetLastWriteTimeUtc(path, now - age);
            return path;
        }
        var ours = Profile("App-0000000a-step.jitprofile", TimeSpan.FromDays(3));
        var oldBuild = Profile("App-0000000b-step.jitprofile", TimeSpan.FromHours(2));
        var recentBuild = Profile("App-0000000c-cli-run-show.jitprofile", TimeSpan.FromMinutes(5));
        var otherApp = Profile("App-Tools-0000000d-step.jitprofile", TimeSpan.FromDays(3));
        var unrelated = Profile("Other-0000000e-step.jitprofile", TimeSpan.FromDays(3));

        JitProfile.PruneOtherBuilds(dir.Path, "App", "0000000a", now);

        Assert.True(File.Exists(ours));
        Assert.False(File.Exists(oldBuild));
        Assert.True(File.Exists(recentBuild));
        Assert.True(File.Exists(otherApp));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void A_command_records_its_profile_in_its_first_process_and_then_once_an_interval()
    {
        var command = "dotnet\0/apps/" + Guid.NewGuid() + ".dll\0strata-step\0--manifest";
        var start = DateTimeOffset.UtcNow;

        Assert.True(JitProfile.ClaimGather(command, start));
        Assert.False(JitProfile.ClaimGather(command, start + TimeSpan.FromMinutes(1)));
        Assert.True(JitProfile.ClaimGather(command + "-other", start + TimeSpan.FromMinutes(1)));
        Assert.False(JitProfile.ClaimGather(command, start + JitProfile.GatherInterval - TimeSpan.FromSeconds(1)));
        Assert.True(JitProfile.ClaimGather(command, start + JitProfile.GatherInterval));
        Assert.False(JitProfile.ClaimGather(command, start + JitProfile.GatherInterval + TimeSpan.FromSeconds(1)));
    }
}
