using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace Strata.Cli.Commands;

/// <summary><c>strata gc</c>: removes what finished runs left on disk.</summary>
internal static class GcCommand
{
    public static Command Create()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be removed, with sizes; remove nothing." };
        var gc = new Command("gc",
            "Remove what finished runs left on disk: the working directories of their steps (local-process, slurm work_dir, in-process), the " +
            "directories of standby step processes that no longer run, temporary files of artifact writes that never finished, and artifacts in a " +
            "local artifact store that no record names once their run is over. A run still running keeps all of its files; a run whose process was " +
            "killed counts as running until it is resumed or cancelled (strata run cancel). Records, logs and recorded artifacts stay.") { dryRun };
        Handler.Set(gc, async c =>
        {
            var client = await c.ClientAsync();
            var result = await client.CollectGarbageAsync(c.Get(dryRun), c.CancellationToken);
            if (c.Json)
            {
                c.WriteJson(new
                {
                    dry_run = result.DryRun,
                    count = result.Items.Count,
                    bytes = result.Bytes,
                    items = result.Items.Select(i => new { kind = i.Kind, path = i.Path, bytes = i.Bytes, reason = i.Reason }),
                    failures = result.Failures,
                });
            }
            else
            {
                // One line each, the path whole (a table would wrap long paths): kind, size, path, and why.
                foreach (var item in result.Items)
                    c.Out.WriteLine($"{item.Kind,-18} {Tables.Size(item.Bytes),10}  {item.Path}  ({item.Reason})");
                var items = result.Items.Count == 1 ? "1 item" : $"{result.Items.Count.ToString(CultureInfo.InvariantCulture)} items";
                var mib = (result.Bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture);
                c.Out.WriteLine(result.DryRun ? $"Dry run: would remove {items}, {mib} MiB (nothing removed)." : $"Removed {items}, {mib} MiB freed.");
                foreach (var failure in result.Failures) c.Error.WriteLine($"warning: could not remove {failure}");
            }
            return result.Failures.Count > 0 ? Handler.Failed : Handler.Ok;
        });
        return gc;
    }
}
