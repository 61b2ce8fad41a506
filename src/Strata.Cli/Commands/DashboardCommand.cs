using System.CommandLine;
using System.Runtime.InteropServices;
using Strata.Dashboard;

namespace Strata.Cli.Commands;

/// <summary><c>strata dashboard</c>: serves the dashboard over the current home's store until Ctrl+C.</summary>
internal static class DashboardCommand
{
    /// <summary>
    /// The dashboard runs below normal CPU priority: on a machine busy with a pipeline, drawing a page waits for the pipeline's steps, so
    /// watching a run does not slow it. Lowering one's own priority needs no privilege; where it is refused the dashboard runs as it is.
    /// </summary>
    private static void YieldToPipelines()
    {
        try
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            self.PriorityClass = System.Diagnostics.ProcessPriorityClass.BelowNormal;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or UnauthorizedAccessException or PlatformNotSupportedException)
        {
        }
    }

    public static Command Create()
    {
        var host = new Option<string>("--host")
        {
            Description = "The address to listen on; anything but loopback needs a token.", DefaultValueFactory = _ => "127.0.0.1",
        };
        var port = new Option<int>("--port") { Description = "The port (0: any free one).", DefaultValueFactory = _ => DashboardOptions.DefaultPort };
        var token = new Option<string>("--token")
        {
            Description = "The token requests must carry (off loopback one is generated and printed when not given).",
        };
        var command = new Command("dashboard", "Serve the dashboard (runs, their graphs, step logs, artifacts, stacks) in the browser until Ctrl+C.")
        {
            host, port, token,
        };
        Handler.Set(command, async c =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(c.CancellationToken);
            void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
            {
                e.Cancel = true;
                stop.Cancel();
            }
            Console.CancelKeyPress += OnCancelKeyPress;
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            try
            {
                YieldToPipelines();
                var home = StrataHome.Resolve();
                await using var server = await DashboardServer.StartAsync(new DashboardOptions
                {
                    Host = c.Get(host)!, Port = c.Get(port), Token = c.Get(token), Home = home,
                }, c.CancellationToken);
                var url = server.Token is null ? server.Url.ToString() : $"{server.Url}?token={server.Token}";
                Console.Out.WriteLine($"Strata dashboard: {url}");
                Console.Out.WriteLine($"Home {home.Path}. Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                await server.StopAsync(CancellationToken.None);
                Console.Out.WriteLine("Dashboard stopped.");
                return Handler.Ok;
            }
            finally
            {
                Console.CancelKeyPress -= OnCancelKeyPress;
            }
        });
        return command;
    }
}
