using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Strata.Tests.Support;

/// <summary>
/// A server from the npm test tools (eng/aws/setup.sh and eng/azure/setup.sh install them under .test/node_modules), run by
/// node on a free loopback port, ready once the port takes connections, and stopped by its process id on dispose.
/// </summary>
public sealed class NodeServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private NodeServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Starts <c>node node_modules/PACKAGE/SCRIPT arguments(port)</c> in <paramref name="workingDirectory"/> and waits until it listens.</summary>
    /// <param name="package">The npm package.</param>
    /// <param name="script">The script's path inside the package.</param>
    /// <param name="setup">The script that installs the package, for the message when it is missing.</param>
    /// <param name="arguments">The script's arguments, given the port.</param>
    /// <param name="workingDirectory">Where the server runs.</param>
    public static async Task<NodeServer> StartAsync(string package, string script, string setup, Func<string, IEnumerable<string>> arguments,
        string workingDirectory)
    {
        var path = Path.Combine(RepoPaths.NodeModules, package, script);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{package} is not installed at {path}: run {setup} (test.sh does).");
        var port = FreePort();
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        start.ArgumentList.Add(path);
        foreach (var a in arguments(port.ToString(CultureInfo.InvariantCulture))) start.ArgumentList.Add(a);
        var server = new NodeServer(Process.Start(start) ?? throw new InvalidOperationException("node did not start."), port);
        server._process.OutputDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
        server._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilListeningAsync(package, TimeSpan.FromSeconds(20));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    private async Task WaitUntilListeningAsync(string package, TimeSpan patience)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{package} exited with {_process.ExitCode} before it listened: {string.Join('\n', _output)}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (waited.Elapsed < patience)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
