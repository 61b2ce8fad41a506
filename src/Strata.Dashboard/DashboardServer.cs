using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Strata.Dashboard;

/// <summary>Where and how <see cref="DashboardServer"/> serves.</summary>
public sealed class DashboardOptions
{
    /// <summary>The port <c>strata dashboard</c> listens on unless told otherwise.</summary>
    public const int DefaultPort = 8237;

    /// <summary>The address to bind. <value>Default: <c>127.0.0.1</c> (this machine only).</value> Any other address needs a token.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port; 0 picks a free one. <value>Default: 8237.</value></summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>
    /// The token every request must carry (<c>?token=</c> once, then a cookie; or <c>Authorization: Bearer</c>).
    /// <value>Default: none on loopback; off loopback one is generated (see <see cref="DashboardServer.Token"/>).</value>
    /// </summary>
    public string? Token { get; set; }

    /// <summary>The Strata home whose store is shown. <value>Default: <see cref="StrataHome.Resolve"/>.</value></summary>
    public StrataHome? Home { get; set; }

    /// <summary>The clock of durations and live-update intervals. <value>Default: the system clock.</value></summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>
/// The dashboard's web server over a Strata home's store: runs, their DAG, step logs, artifacts and stacks. It only reads the store,
/// except to ask a run to cancel (as <c>strata run cancel</c> does).
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly StoreAccess _store;

    private DashboardServer(WebApplication app, StoreAccess store, Uri url, string? token)
    {
        _app = app;
        _store = store;
        Url = url;
        Token = token;
    }

    /// <summary>The address the dashboard answers on (the port actually bound when 0 was asked for).</summary>
    public Uri Url { get; }

    /// <summary>The token requests must carry, or null when none is needed (loopback without <see cref="DashboardOptions.Token"/>).</summary>
    public string? Token { get; }

    /// <summary>Starts serving; returns once the port is bound.</summary>
    /// <exception cref="StrataConfigException">The host is not an address or name this machine can bind.</exception>
    public static async Task<DashboardServer> StartAsync(DashboardOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var loopback = IsLoopback(options.Host);
        var token = options.Token is { Length: > 0 } given ? given : loopback ? null : NewToken();
        var home = options.Home ?? StrataHome.Resolve();
        var store = new StoreAccess(home);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(DashboardServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddRouting();
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "strata_csrf";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.FormFieldName = "csrf";
            o.SuppressXFrameOptionsHeader = false;
        });
        builder.WebHost.UseUrls($"http://{HostForUrl(options.Host)}:{options.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

        var app = builder.Build();
        var pages = new Pages(store, options.TimeProvider, app.Lifetime.ApplicationStopping, app.Services.GetRequiredService<IAntiforgery>());
        app.Use(SecurityHeaders);
        if (token is not null) app.Use(TokenCheck(token));
        app.Use(pages.Errors);
        pages.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new StrataConfigException($"The dashboard cannot listen on {options.Host}:{options.Port}: {e.Message} Give another --port or --host.", e);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bound = new Uri(address);
        var shown = IPAddress.TryParse(options.Host, out var ip) && ip.Equals(IPAddress.Any) ? "127.0.0.1" : HostForUrl(options.Host);
        var url = new UriBuilder(bound) { Host = shown.Trim('[', ']') }.Uri;
        return new DashboardServer(app, store, url, token);
    }

    /// <summary>Stops serving: open pages and live streams are closed.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }

    internal static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static string HostForUrl(string host) =>
        IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Headers on every answer: no inline script anywhere, nothing framed, nothing sniffed.</summary>
    private static Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        return next();
    }

    internal const string TokenCookie = "strata_token";

    /// <summary>
    /// Every request carries the token: <c>?token=</c> (which sets an HttpOnly, SameSite=Strict cookie and redirects to the clean
    /// address), the cookie, or <c>Authorization: Bearer</c>. Anything else gets 401.
    /// </summary>
    private static Func<HttpContext, Func<Task>, Task> TokenCheck(string token) => async (context, next) =>
    {
        var request = context.Request;
        if (request.Query.TryGetValue("token", out var query) && Matches(query.ToString(), token))
        {
            context.Response.Cookies.Append(TokenCookie, token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
            var rest = QueryString.Create(request.Query.Where(q => q.Key != "token"));
            context.Response.Redirect(request.PathBase + request.Path + rest);
            return;
        }
        var bearer = request.Headers.Authorization.ToString();
        if ((request.Cookies.TryGetValue(TokenCookie, out var cookie) && Matches(cookie, token)) ||
            (bearer.StartsWith("Bearer ", StringComparison.Ordinal) && Matches(bearer["Bearer ".Length..], token)))
        {
            await next().ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("401: this dashboard needs its token. Open the address `strata dashboard` printed (it ends in ?token=...).",
            context.RequestAborted).ConfigureAwait(false);
    };

    private static bool Matches(string given, string token) =>
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(token));
}
