using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Strata.StepOperators;

/// <summary>Per-step settings of the <c>local-process</c> step operator.</summary>
public class LocalProcessSettings : StepOperatorSettings
{
    [Description("Extra environment variables for the step process (KEY=value,KEY2=value2).")]
    public Dictionary<string, string>? Environment { get; set; }

    [Description("Give the step process this process's whole environment (default: only PATH, HOME, TMPDIR, LANG, DOTNET_* and what the step is given).")]
    public bool InheritEnvironment { get; set; }
}

/// <summary>Config of a <c>local-process</c> step operator: its settings' defaults plus limits for the component.</summary>
public sealed class LocalProcessStepOperatorConfig : LocalProcessSettings
{
    [Description("How many step processes run at once; 0 means one per processor.")]
    [Range(0, int.MaxValue)]
    public int MaxConcurrent { get; set; }

    [Description("Where each step gets its working directory; default: 'steps' in the Strata home.")]
    public string? WorkingDirectory { get; set; }

    [Description("Keep a step process started ahead and waiting, so a step does not wait for the runtime to start (default: true). A step given DOTNET_*, " +
        "LD_*, LANG, LC_* or TZ variables always gets a fresh process.")]
    public bool Standby { get; set; } = true;
}

internal sealed class LocalProcessFlavor : StepOperatorFlavor
{
    public override string Name => "local-process";
    public override string Description =>
        "Runs each step as a separate process on this machine: own working directory, explicit environment, whole process tree cancelled.";
    public override Type ConfigType => typeof(LocalProcessStepOperatorConfig);
    public override Type SettingsType => typeof(LocalProcessSettings);

    public override StepOperator Create(object config, StepOperatorContext context) =>
        new LocalProcessStepOperator((LocalProcessStepOperatorConfig)config, context.Home, context.Time);

    public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings)
    {
        if (resources.Gpus is not null || resources.GpuType is not null)
            yield return "gpus: a local process uses the GPUs this machine has; choose GPUs with environment (e.g. --environment=CUDA_VISIBLE_DEVICES=0)";
        if (resources.Cpus is not null || resources.MemoryBytes is not null)
            yield return "cpus and memory: a local process is not limited; use max_concurrent to bound how many steps run at once";
    }
}
