using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Strata.Cli;

/// <summary>
/// A run config file:
/// <code>
/// steps:
///   train:
///     step_operator: gpu
///     settings: { timeout: 30m, environment: "CUDA_VISIBLE_DEVICES=0" }
///     retries: 2
/// </code>
/// </summary>
internal static class RunConfigFile
{
    private sealed class Document
    {
        public Dictionary<string, StepOverride> Steps { get; set; } = [];
    }

    public static Dictionary<string, StepOverride> Read(string path)
    {
        if (!File.Exists(path)) throw new CliUsageException($"Run config '{path}' not found.");
        try
        {
            var document = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build()
                .Deserialize<Document>(File.ReadAllText(path)) ?? new Document();
            return document.Steps;
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new CliUsageException($"'{path}' is not a valid run config: {e.Message} (expected `steps: {{ STEP: {{ step_operator, settings, retries, " +
                $"timeout }} }}`).");
        }
    }
}
