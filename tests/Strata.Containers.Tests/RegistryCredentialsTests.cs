using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Strata.Containers.Tests;

/// <summary>
/// A registry that wants credentials: a second docker-registry with htpasswd auth, started for these tests. Missing and wrong
/// credentials are named before anything is built; the right ones let the builder push.
/// </summary>
[Collection(ContainerServicesCollection.Name)]
public sealed class RegistryCredentialsTests(ContainerServices services) : IAsyncLifetime
{
    private const string User = "strata";
    private const string Password = "s3cret-pass";
    private readonly TempDirectory _temp = new("strata-auth-registry");
    private Process? _registry;
    private string _host = "";

    public async Task InitializeAsync()
    {
        var port = FreePort();
        _host = $"127.0.0.1:{port}";
        await File.WriteAllTextAsync(_temp.Combine("htpasswd"), $"{User}:{BCrypt.Net.BCrypt.HashPassword(Password)}\n");
        await File.WriteAllTextAsync(_temp.Combine("config.yml"), $"""
            version: 0.1
            storage: {"{"}filesystem: {"{"}rootdirectory: {_temp.Combine("data")}{"}"}{"}"}
            http: {"{"}addr: "{_host}"{"}"}
            auth: {"{"}htpasswd: {"{"}realm: strata-tests, path: {_temp.Combine("htpasswd")}{"}"}{"}"}
            """);
        var start = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(_temp.Combine("config.yml"));
        _registry = Process.Start(start)!;
        _registry.OutputDataReceived += (_, _) => { };
        _registry.ErrorDataReceived += (_, _) => { };
        _registry.BeginOutputReadLine();
        _registry.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var answer = await http.GetAsync($"http://{_host}/v2/");
                if (answer.StatusCode == HttpStatusCode.Unauthorized) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"docker-registry with htpasswd did not answer on {_host}");
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            _registry.Kill();
            await _registry.WaitForExitAsync();
            _registry.Dispose();
        }
        _temp.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Missing_credentials_are_asked_for_by_name()
    {
        var error = await Assert.ThrowsAsync<StrataConfigException>(() => new ContainerRegistry($"{_host}/team").CheckAsync());
        Assert.Contains($"Container registry {_host} needs credentials", error.Message);
        Assert.Contains("--username=", error.Message);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_by_name_before_anything_is_built()
    {
        var registry = new ContainerRegistry($"{_host}/team", User, "wrong");
        var error = await Assert.ThrowsAsync<StrataConfigException>(() => registry.CheckAsync());
        Assert.Contains($"Container registry {_host} refused the credentials of user '{User}'", error.Message);
        Assert.DoesNotContain("wrong", error.Message);
    }

    [Fact]
    public async Task The_right_credentials_let_the_builder_push_and_find_the_image()
    {
        var registry = new ContainerRegistry($"{_host}/team", User, Password);
        await registry.CheckAsync();
        var builder = ((ImageBuilderFlavor)FlavorRegistry.Default.Get(ComponentType.ImageBuilder, "dotnet"))
            .Create(new DotnetImageBuilderConfig(), new StrataHome(_temp.Combine("home")));
        var request = new ImageBuildRequest
        {
            Pipeline = "quickstart", BaseImage = services.BaseImage, AppAssemblyPath = RepoPaths.QuickstartDll(), Registry = registry,
        };

        var image = await builder.BuildAsync(request);
        Assert.True(image.Built);
        Assert.StartsWith($"{_host}/team/quickstart:", image.Reference);
        Assert.NotNull(await registry.FindManifestAsync(ImageReference.Parse(image.Reference)));
        Assert.False((await builder.BuildAsync(request)).Built);
    }
}
