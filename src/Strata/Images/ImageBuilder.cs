namespace Strata.Images;

/// <summary>What goes into a job image: a base image and the app's build output, whose step entrypoint the image runs.</summary>
public sealed record ImageBuildRequest
{
    /// <summary>The pipeline the image is built for; a label of the image.</summary>
    public required string Pipeline { get; init; }

    /// <summary>The image to build on, e.g. <c>mcr.microsoft.com/dotnet/runtime:10.0</c>; it must hold a .NET runtime the app can run on.</summary>
    public required string BaseImage { get; init; }

    /// <summary>The app: its main assembly (e.g. <c>/src/App/bin/Release/net10.0/App.dll</c>); everything beside it goes into the image.</summary>
    public required string AppAssemblyPath { get; init; }

    /// <summary>Where the image is pushed.</summary>
    public required ContainerRegistry Registry { get; init; }

    /// <summary>Where build and push progress goes (one line per stage). <value>Default: nowhere.</value></summary>
    public IProgress<string>? Progress { get; init; }
}

/// <summary>A job image in a registry.</summary>
/// <param name="Reference">The image to pull, e.g. <c>localhost:5000/team/app:3f2a...</c>.</param>
/// <param name="ContentHash">The hash of everything that went in; the image's tag is made from it.</param>
/// <param name="Built">Whether this call built and pushed it (false: the registry already had it).</param>
/// <param name="PushedBytes">Bytes of files in the layers this call pushed (0 when nothing was pushed).</param>
public sealed record JobImage(string Reference, string ContentHash, bool Built, long PushedBytes);

/// <summary>
/// Builds job images: the app's build output on a base image, entrypoint the app (so a job runs <c>IMAGE strata-step --manifest URI</c>),
/// tagged with a hash of what went in and pushed to the stack's registry. A builder that finds the tag in the registry builds nothing.
/// </summary>
public abstract class ImageBuilder
{
    /// <summary>Builds and pushes the image unless the registry has it.</summary>
    /// <exception cref="StrataConfigException">The base image, the registry or the build failed; the message says which and why.</exception>
    public abstract Task<JobImage> BuildAsync(ImageBuildRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A flavor of container registry.</summary>
public abstract class ContainerRegistryFlavor : Flavor
{
    public sealed override ComponentType Type => ComponentType.ContainerRegistry;

    /// <summary>Builds the registry from its config (secret references already resolved).</summary>
    public abstract ContainerRegistry Create(object config);
}

/// <summary>A flavor of image builder.</summary>
public abstract class ImageBuilderFlavor : Flavor
{
    public sealed override ComponentType Type => ComponentType.ImageBuilder;

    /// <summary>Builds the image builder from its config (secret references already resolved).</summary>
    public abstract ImageBuilder Create(object config, StrataHome home);
}
