using Docker.DotNet;
using Strata.Testing;

namespace Strata.Containers.Tests;

/// <summary>
/// The <c>container</c> operator on podman's Docker Engine API: the conformance suite. Jobs run the .NET base image with the
/// repository mounted read-only at its own path, so the entrypoint is the <c>strata</c> command of this build and the steps
/// are this build's; the case directory is mounted too, so steps see the files the cases release them with.
/// </summary>
[Collection(ContainerServicesCollection.Name)]
public sealed class ContainerStepOperatorTests(ContainerServices services) : StepOperatorConformance
{
    protected override string Flavor => "container";

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddContainers();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => new Dictionary<string, string>
    {
        ["image"] = services.BaseImage,
        ["docker_host"] = services.DockerHost,
        // This build, read-only, and the temporary directory, where the cases' steps wait for the files that release them.
        ["mounts"] = $"{RepoPaths.Root}:{RepoPaths.Root}:ro,{Path.GetTempPath().TrimEnd('/')}:{Path.GetTempPath().TrimEnd('/')}",
    };

    protected override IReadOnlyList<string> Entrypoint => ["dotnet", StrataCommand];

    // The command's own build: the one beside these tests runs on the test host's frameworks.
    protected override string StrataCommand => RepoPaths.StrataDll;

    protected override IReadOnlyDictionary<string, string> CommandEnvironment => new Dictionary<string, string> { ["DOCKER_HOST"] = services.DockerHost };

    protected override ResourceSupport Resources => ResourceSupport.Mapped("\"NanoCPUs\":2000000000", "\"Memory\":1073741824");

    private DockerClient Docker() => new DockerClientConfiguration(new Uri(services.DockerHost)).CreateClient();

    /// <summary>The job's container while it exists and has not exited.</summary>
    protected override async Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        using var docker = Docker();
        try
        {
            var inspected = await docker.Containers.InspectContainerAsync(job.Data["container"]);
            return inspected.State.Status is "exited" or "dead" ? [] : [$"container {job.JobId}: {inspected.State.Status}"];
        }
        catch (DockerContainerNotFoundException)
        {
            return [];
        }
    }

    /// <summary>
    /// The container's config and host config as the engine holds them (what anyone with engine access can read); once the container
    /// is removed, what the operator asked the engine for.
    /// </summary>
    protected override async Task<string> JobSpecAsync(StepJob job)
    {
        using var docker = Docker();
        try
        {
            var inspected = await docker.Containers.InspectContainerAsync(job.Data["container"]);
            return System.Text.Json.JsonSerializer.Serialize(new { inspected.Config, inspected.HostConfig, inspected.Args, inspected.Path });
        }
        catch (DockerContainerNotFoundException)
        {
            return job.Data.GetValueOrDefault("spec") ?? "";
        }
    }
}
