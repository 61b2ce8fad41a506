using System.ComponentModel;

namespace Strata.Containers;

/// <summary>When the <c>container</c> operator pulls a job's image.</summary>
public enum ImagePull
{
    /// <summary>Only when the engine does not have the image; built images are tagged by content, so this is always current.</summary>
    Missing,
    Always,
    Never,
}

/// <summary>
/// Per-step settings of the <c>container</c> step operator (the component's config gives the defaults):
/// <c>.WithSettings(new ContainerStepOperatorSettings { Mounts = ["/data:/data:ro"] })</c>.
/// </summary>
public class ContainerStepOperatorSettings : ImageStepOperatorSettings
{
    [Description("Network mode of the job's container. 'host' (the default) lets the step reach what the pipeline reaches on this machine's loopback.")]
    public string Network { get; set; } = "host";

    [Description("More bind mounts, comma-separated HOST_PATH:CONTAINER_PATH[:ro] (e.g. /data:/data:ro). A local artifact store is always " +
        "mounted at its own path.")]
    public List<string>? Mounts { get; set; }

    [Description("When to pull the image: missing (the default), always or never.")]
    public ImagePull Pull { get; set; } = ImagePull.Missing;
}

/// <summary>Config of a <c>container</c> step operator: where the engine is, and the defaults of every step's settings.</summary>
public sealed class ContainerStepOperatorConfig : ContainerStepOperatorSettings
{
    [Description("The Docker Engine API: unix:///path/docker.sock or tcp://HOST:PORT. Default: DOCKER_HOST, else podman's socket of this user " +
        "($XDG_RUNTIME_DIR/podman/podman.sock), else /var/run/docker.sock.")]
    public string? DockerHost { get; set; }
}
