using Strata.Slurm;

namespace Strata.Slurm
{
    /// <summary>The <c>slurm</c> step operator flavor: steps as Slurm batch jobs, through the Slurm commands or slurmrestd.</summary>
    internal sealed class SlurmStepOperatorFlavor : StepOperatorFlavor
    {
        public override string Name => "slurm";
        public override string Integration => "slurm";
        public override string Description =>
            "Runs each step as a Slurm batch job (sbatch or slurmrestd) on a cluster that shares a work directory and the artifact store with this machine.";
        public override Type ConfigType => typeof(SlurmStepOperatorConfig);
        public override Type SettingsType => typeof(SlurmStepOperatorSettings);

        /// <summary>Jobs run on other nodes: the artifact store must be one they reach (a local store counts when registered with --shared=true).</summary>
        public override StackRequirements Requirements => StackRequirements.RemoteArtifactStore;

        public override StepOperator Create(object config, StepOperatorContext context)
        {
            var c = (SlurmStepOperatorConfig)config;
            Check(c);
            return new SlurmStepOperator(c, CreateTransport(c), context.Time);
        }

        /// <summary>CPUs, memory, GPUs and a GPU type all map to sbatch options: nothing is ignored.</summary>
        public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings) => [];

        /// <summary>Checks the config as a whole; throws naming every problem and its fix.</summary>
        internal static void Check(SlurmStepOperatorConfig c)
        {
            var problems = new List<string>();
            if (string.IsNullOrWhiteSpace(c.WorkDir) || !c.WorkDir.StartsWith('/'))
                problems.Add($"work_dir '{c.WorkDir}' must be an absolute path on a filesystem the compute nodes mount at the same path");
            else if (c.WorkDir.Any(ch => char.IsControl(ch) || ch == '%'))
                problems.Add($"work_dir '{c.WorkDir}' must not contain control characters or '%' (Slurm reads '%' in output paths as a pattern)");
            if (c.Transport == SlurmTransportKind.Rest)
            {
                if ((c.RestUrl is null) == (c.RestSocket is null))
                    problems.Add("transport=rest needs exactly one of --rest_url=http://HOST:6820 (JWT) and --rest_socket=/path/slurmrestd.sock (local auth)");
                if (c.RestUrl is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
                    problems.Add($"rest_url '{url}' must be an http:// or https:// URL");
                if (c.RestUrl is not null && string.IsNullOrEmpty(c.Token))
                    problems.Add("rest_url needs a JWT: store it with `strata secret create slurm --token=-` and register --token={{slurm.token}}");
            }
            else if (c.RestUrl is not null || c.RestSocket is not null || c.Token is not null)
                problems.Add("rest_url, rest_socket and token are for transport=rest; add --transport=rest or remove them");
            if (c.MaxJobs < 0) problems.Add($"max_jobs {c.MaxJobs} must be 0 (no limit) or more");
            if (c.ArrayWindow < TimeSpan.Zero) problems.Add($"array_window {c.ArrayWindow} must not be negative");
            problems.AddRange(SlurmStepJob.Problems(c));
            if (problems.Count > 0)
                throw new SlurmException(SlurmErrorKind.InvalidSpec,
                    $"The slurm step operator's config is not valid:{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", problems));
        }

        internal static ISlurmTransport CreateTransport(SlurmStepOperatorConfig c)
        {
            if (c.Transport == SlurmTransportKind.Cli)
                return new SlurmCliTransport(new SlurmCliOptions { SlurmConf = c.SlurmConf, BinDirectory = c.SlurmBinDir });
            var token = c.Token;
            return new SlurmRestTransport(new SlurmRestOptions
            {
                BaseAddress = c.RestUrl is null ? null : new Uri(c.RestUrl),
                UnixSocketPath = c.RestSocket,
                UserName = c.UserName ?? Environment.UserName,
                TokenProvider = token is null ? null : _ => ValueTask.FromResult(token),
                DefaultWorkingDirectory = c.WorkDir,
            });
        }
    }
}

namespace Strata
{
    /// <summary>Adds the Slurm integration's flavors to a registry.</summary>
    public static class SlurmRegistration
    {
        /// <summary>Adds the <c>slurm</c> step operator flavor. In an app: <c>flavors.AddSlurm()</c> in its <see cref="IStrataSetup"/>.</summary>
        public static FlavorRegistry AddSlurm(this FlavorRegistry registry)
        {
            ArgumentNullException.ThrowIfNull(registry);
            return registry.Add(new SlurmStepOperatorFlavor());
        }
    }
}
