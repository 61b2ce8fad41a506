using Strata.Tests.Support;

namespace Strata.Slurm.Tests;

/// <summary>
/// The real `strata` command with a slurm step operator, as the README tells a user to do it: register the operator and
/// a stack, then run the Quickstart example, whose train step goes to the stack's first step operator.
/// </summary>
[Collection(SlurmClusterCollection.Name)]
public sealed class SlurmCliTests(SlurmCluster cluster) : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    public static TheoryData<string> Transports => new() { "cli", "rest" };

    private CliResult Ok(params string[] args)
    {
        var result = _cli.Run(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}\n{result}");
        return result;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void The_Quickstart_trains_on_Slurm_through_a_registered_operator_and_stack(string transport)
    {
        var quickstart = RepoPaths.QuickstartDll();
        var flavors = Ok("step-operator", "flavor", "list", "--output", "json").Json.EnumerateArray();
        Assert.Contains(flavors, f => f.GetProperty("name").GetString() == "slurm" && f.GetProperty("integration").GetString() == "slurm");

        var register = new List<string>
        {
            "step-operator", "register", "hpc", "--flavor=slurm", "--partition=debug", $"--work_dir={_cli.Combine("shared", "work")}", $"--transport={transport}",
        };
        if (transport == "cli") register.Add($"--slurm_conf={cluster.SlurmConf}");
        else
        {
            var secret = _cli.RunWithInput(cluster.Jwt, "secret", "create", "slurm", "--token=-");
            Assert.True(secret.ExitCode == 0, secret.ToString());
            register.AddRange([$"--rest_url={cluster.RestUrl}", "--user_name=root", "--token={{slurm.token}}"]);
        }
        Ok([.. register]);
        Ok("artifact-store", "register", "lake", "--flavor=local", $"--path={_cli.Combine("shared", "artifacts")}", "--shared=true");
        Ok("stack", "register", "hpc", "-o", "default", "-a", "lake", "-s", "hpc", "-s", "local", "--set");

        var run = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);

        Assert.Contains("✓ train completed", run.Out);
        Assert.Contains("[train] trained FastTree with 100 trees", run.Out); // the job's output, live on the console
        Assert.Contains("ran on step operator 'hpc' (slurm), job ", run.Out);
        Assert.Contains("✓ evaluate completed", run.Out);
        var name = Ok("run", "list", "--output", "json").Json.EnumerateArray().First().GetProperty("name").GetString()!;
        var shown = Ok("run", "show", name, "--output", "json").Json;
        Assert.Equal("completed", shown.GetProperty("run").GetProperty("status").GetString());
        var train = shown.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "train");
        Assert.Equal("hpc", train.GetProperty("step_operator").GetString());
        Assert.Equal("completed", train.GetProperty("status").GetString());
        var logs = Ok("run", "logs", name, "--step", "train");
        Assert.Contains("trained FastTree with 100 trees", logs.Out);
    }

    [Fact]
    public void A_stack_whose_artifact_store_is_not_shared_is_refused_with_the_fix()
    {
        Ok("step-operator", "register", "hpc", "--flavor=slurm", $"--work_dir={_cli.Combine("work")}", $"--slurm_conf={cluster.SlurmConf}");
        Ok("stack", "register", "hpc", "-o", "default", "-a", "default", "-s", "hpc", "--set");

        var run = _cli.Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--shared=true", run.Error + run.Out);
    }

    [Fact]
    public void A_bad_extra_sbatch_option_is_refused_naming_the_option()
    {
        Ok("step-operator", "register", "hpc", "--flavor=slurm", $"--work_dir={_cli.Combine("work")}", "--extra_sbatch_options=--partition=gpu");
        Ok("artifact-store", "register", "lake", "--flavor=local", $"--path={_cli.Combine("artifacts")}", "--shared=true");
        Ok("stack", "register", "hpc", "-o", "default", "-a", "lake", "-s", "hpc", "--set");

        var run = _cli.Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--partition=gpu", run.Error);
        Assert.Contains("sets --partition", run.Error);
    }
}
