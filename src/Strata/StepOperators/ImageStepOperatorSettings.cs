using System.ComponentModel;

namespace Strata.StepOperators;

/// <summary>
/// Settings of a step operator whose jobs run in a container image. With <see cref="Image"/> set, the job runs that image as is;
/// without it, Strata builds the job image from <see cref="BaseImage"/> and the app with the stack's image builder, pushes it to
/// the stack's container registry once per run, and hands it to the operator as <see cref="StepLaunch.Image"/>.
/// </summary>
public class ImageStepOperatorSettings : StepOperatorSettings
{
    /// <summary>The base image of built job images when none is given.</summary>
    public const string DefaultBaseImage = "mcr.microsoft.com/dotnet/runtime:10.0";

    [Description("A finished image to run as is (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1); its ENTRYPOINT runs the app (e.g. " +
        "[\"dotnet\", \"/app/App.dll\"]) and gets 'strata-step --manifest URI' as arguments, unless entrypoint is set. Leave it unset to have the " +
        "stack's image builder build the job image.")]
    public string? Image { get; set; }

    [Description("The image that built job images start from; it needs a .NET runtime the app can run on. Default: " + DefaultBaseImage + ".")]
    public string? BaseImage { get; set; }

    /// <summary>
    /// Whether, without <see cref="Image"/>, the job runs in an environment the backend already has (e.g. a registered Azure ML
    /// environment), so that Strata neither builds an image nor requires one. <value>Default: false.</value>
    /// </summary>
    public virtual bool UsesBackendEnvironment => false;
}
