using Strata.Containers;

namespace Strata.Containers
{
    /// <summary>The <c>container</c> step operator flavor: a step in its job image, on this machine, through Docker or podman.</summary>
    internal sealed class ContainerStepOperatorFlavor : StepOperatorFlavor
    {
        public override string Name => "container";
        public override string Integration => "containers";
        public override string Description =>
            "Runs each step in its job image on this machine through the Docker Engine API (Docker, or podman's API service): check an image " +
            "before a cluster runs it.";
        public override Type ConfigType => typeof(ContainerStepOperatorConfig);
        public override Type SettingsType => typeof(ContainerStepOperatorSettings);

        public override StepOperator Create(object config, StepOperatorContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            var c = (ContainerStepOperatorConfig)config;
            return new ContainerStepOperator(EngineAddress(c.DockerHost), context);
        }

        /// <summary>GPU types have no container equivalent: the engine hands out devices, not models.</summary>
        public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings) =>
            resources.GpuType is null ? [] : ["gpu_type (the engine gives GPUs, not a model of GPU)"];

        /// <summary>
        /// A local store works when it is on this machine: the container mounts it at the same path. Remote stores are reached
        /// over the network, with the job's own credentials.
        /// </summary>
        public override string? ArtifactStoreProblem(ArtifactStore artifactStore) => null;

        internal static Uri EngineAddress(string? configured)
        {
            var address = configured is { Length: > 0 } c ? c
                : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } fromEnv ? fromEnv
                : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } run && File.Exists(Path.Combine(run, "podman", "podman.sock"))
                    ? $"unix://{Path.Combine(run, "podman", "podman.sock")}"
                : "unix:///var/run/docker.sock";
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https"))
                throw new StrataConfigException($"docker_host '{address}' is not a Docker Engine address (unix:///path/docker.sock or tcp://HOST:PORT).");
            return uri;
        }
    }
}

namespace Strata
{
    /// <summary>Adds the containers integration's flavors to a registry.</summary>
    public static class ContainerRegistration
    {
        /// <summary>Adds the <c>container</c> step operator flavor. In an app: <c>flavors.AddContainers()</c> in its <see cref="IStrataSetup"/>.</summary>
        public static FlavorRegistry AddContainers(this FlavorRegistry registry)
        {
            ArgumentNullException.ThrowIfNull(registry);
            return registry.Add(new ContainerStepOperatorFlavor());
        }
    }
}
