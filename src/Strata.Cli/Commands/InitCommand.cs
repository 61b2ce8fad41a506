using System.CommandLine;

namespace Strata.Cli.Commands;

/// <summary><c>strata init</c>: a project-local Strata home in <c>.strata/</c>.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var path = new Argument<string?>("path") { Description = "Directory to initialise (default: the current directory).", Arity = ArgumentArity.ZeroOrOne };
        var init = new Command("init",
            "Create a project-local Strata home (.strata/) with its store and the default stack; commands run below this directory use it.") { path };
        Handler.Set(init, async c =>
        {
            var dir = Path.GetFullPath(c.Get(path) ?? Environment.CurrentDirectory);
            if (!Directory.Exists(dir)) throw new CliUsageException($"Directory '{dir}' does not exist.");
            var home = new StrataHome(Path.Combine(dir, StrataHome.DirectoryName));
            var existed = Directory.Exists(home.Path);
            Directory.CreateDirectory(home.Path);
            await using var client = await StrataClient.OpenAsync(home, cancellationToken: c.CancellationToken);
            await client.Stacks.EnsureDefaultStackAsync(c.CancellationToken);
            if (c.Json) c.WriteJson(new { home = home.Path, store = client.Store.Location, created = !existed });
            else c.Success(existed ? $"Strata home already initialised at {home.Path}." : $"Initialised a Strata home at {home.Path} with the default stack.");
            if (Environment.GetEnvironmentVariable("STRATA_HOME") is { Length: > 0 } set && Path.GetFullPath(set) != home.Path)
                c.Error.WriteLine($"warning: STRATA_HOME is set ({set}) and wins over {home.Path}: commands use it until you unset it (unset STRATA_HOME).");
            return Handler.Ok;
        });
        return init;
    }
}
