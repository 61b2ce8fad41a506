using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Strata.Postgres.Tests;

/// <summary>
/// The PostgreSQL server the tests use: the one at STRATA_TEST_POSTGRES_URL (an admin URL, e.g.
/// postgresql://postgres@127.0.0.1:55432/postgres), or else a private one started here with initdb and pg_ctl
/// and stopped on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string? _baseDir;
    private bool _started;
    private NpgsqlDataSource? _admin;

    public string AdminUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("STRATA_TEST_POSTGRES_URL");
        AdminUrl = string.IsNullOrWhiteSpace(url) ? await StartPrivateServerAsync() : url;
        _admin = NpgsqlDataSource.Create(PostgresMetadataStore.ParseUrl(AdminUrl).ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
        if (_baseDir is null) return;
        if (_started) await RunAsync(Tool("pg_ctl"), "-D", Path.Combine(_baseDir, "data"), "-m", "fast", "-w", "stop");
        try { Directory.Delete(_baseDir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Creates an empty database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"strata_test_{Guid.NewGuid():n}";
        await ExecuteAsync($"CREATE DATABASE {name}");
        return name;
    }

    public Task DropDatabaseAsync(string name) => ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");

    /// <summary>The admin URL pointed at another database on the same server.</summary>
    public string UrlFor(string database)
    {
        var uri = new Uri(AdminUrl);
        return $"{uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.UserInfo, UriFormat.UriEscaped)}/{database}{uri.Query}";
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = _admin!.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> StartPrivateServerAsync()
    {
        _baseDir = Path.Combine(Path.GetTempPath(), $"strata-pg-{Guid.NewGuid():n}");
        Directory.CreateDirectory(_baseDir);
        if (IsRoot) await RunAsync("chown", "postgres:postgres", _baseDir); // initdb refuses to run as root
        var data = Path.Combine(_baseDir, "data");
        await RunAsync(Tool("initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C");
        var port = FreePort();
        // -l sends the server's output to a file: otherwise the server would hold our output pipe open.
        await RunAsync(Tool("pg_ctl"), "-D", data, "-w", "-l", Path.Combine(_baseDir, "server.log"),
            "-o", $"-p {port} -k {_baseDir} -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        _started = true;
        return $"postgresql://postgres@127.0.0.1:{port}/postgres";
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static string Tool(string name)
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        var bin = versions.Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, name)))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            ?? throw new InvalidOperationException($"No PostgreSQL {name} under /usr/lib/postgresql/*/bin: install PostgreSQL, or set STRATA_TEST_POSTGRES_URL to a server's admin URL.");
        return Path.Combine(bin, name);
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Runs a PostgreSQL tool as user postgres (via runuser when we are root).</summary>
    private async Task RunAsync(string file, params string[] args)
    {
        var runAs = IsRoot && file != "chown";
        var start = new ProcessStartInfo(runAs ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _baseDir ?? Path.GetTempPath(),
        };
        if (runAs) foreach (var a in (string[])["-u", "postgres", "--", file]) start.ArgumentList.Add(a);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
