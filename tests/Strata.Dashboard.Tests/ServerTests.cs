using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Strata.Dashboard.Tests.Support;

namespace Strata.Dashboard.Tests;

/// <summary>The server over HTTP: authentication off loopback, the anti-forgery token on cancel, escaping, and stores it cannot read.</summary>
public sealed partial class ServerTests : IAsyncLifetime
{
    private DashboardHome _home = null!;

    public async Task InitializeAsync() => _home = await DashboardHome.CreateAsync();

    public async Task DisposeAsync() => await _home.DisposeAsync();

    [Fact]
    public async Task Off_loopback_every_request_needs_the_token()
    {
        var server = await _home.StartAsync(host: "0.0.0.0");
        Assert.NotNull(server.Token); // generated, as `strata dashboard` prints it
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.Url };

        foreach (var path in new[] { "/runs", "/stacks", "/static/dashboard.js", "/runs/x/events" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/runs?token=wrong")).StatusCode);

        // ?token= sets an HttpOnly, SameSite=Strict cookie and leads to the clean address.
        var login = await http.GetAsync($"/runs?token={server.Token}");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/runs", login.Headers.Location!.OriginalString);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/runs");
        withCookie.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withCookie)).StatusCode);
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/runs");
        bearer.Headers.Authorization = new("Bearer", server.Token);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(bearer)).StatusCode);
    }

    [Fact]
    public async Task Loopback_needs_no_token_unless_one_is_given()
    {
        var open = await _home.StartAsync();
        Assert.Null(open.Token);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(open.Url, "/runs"))).StatusCode);

        var locked = await _home.StartAsync(token: "s3cret-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(locked.Url, "/runs"))).StatusCode);
    }

    [Fact]
    public async Task Cancel_is_refused_without_the_pages_anti_forgery_token_and_done_with_it()
    {
        var run = new RunRecord(Guid.CreateVersion7().ToString(), "held-run", "held", "default", ExecutionStatus.Running, DateTimeOffset.UnixEpoch, null,
            null, 0);
        await _home.Client.Store.CreateRunAsync(run);
        var server = await _home.StartAsync();
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = server.Url };

        // A forged form (no token, or a token without its cookie) changes nothing.
        var forged = await http.PostAsync($"/runs/{run.Id}/cancel", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var noCookie = await http.PostAsync($"/runs/{run.Id}/cancel", new FormUrlEncodedContent([new("csrf", "made-up")]));
        Assert.Equal(HttpStatusCode.BadRequest, noCookie.StatusCode);
        Assert.False(await _home.Client.Store.IsCancelRequestedAsync(run.Id));

        var page = await http.GetStringAsync($"/runs/{run.Id}");
        var token = CsrfField().Match(page).Groups[1].Value;
        Assert.NotEmpty(token);
        var cancel = await http.PostAsync($"/runs/{run.Id}/cancel", new FormUrlEncodedContent([new("csrf", WebUtility.HtmlDecode(token))]));
        Assert.Equal(HttpStatusCode.Redirect, cancel.StatusCode);
        Assert.True(await _home.Client.Store.IsCancelRequestedAsync(run.Id));
    }

    [Fact]
    public async Task The_live_stream_of_a_run_sends_nothing_while_it_stands_still_and_the_change_when_it_moves()
    {
        var run = new RunRecord(Guid.CreateVersion7().ToString(), "moving-run", "moving", "default", ExecutionStatus.Running, DateTimeOffset.UtcNow, null,
            null, 1);
        await _home.Client.Store.CreateRunAsync(run);
        var step = new StepRunRecord(Guid.CreateVersion7().ToString(), run.Id, "train", "App.Train", "v1", null, ExecutionStatus.Running,
            DateTimeOffset.UtcNow, null, null, null, "{}");
        await _home.Client.Store.CreateStepRunAsync(step, []);
        var server = await _home.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };
        var page = await http.GetStringAsync($"/runs/{run.Id}");
        var events = WebUtility.HtmlDecode(EventsAddress().Match(page).Groups[1].Value);
        Assert.StartsWith($"/runs/{run.Id}/events?v=", events);

        using var response = await http.GetAsync(events, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var reading = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync() is { } line) lines.Enqueue(line);
        });

        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two live intervals and more with nothing new: nothing is sent
        Assert.DoesNotContain(lines, l => l.StartsWith("event:", StringComparison.Ordinal));

        await _home.Client.Store.FinishStepRunAsync(step.Id, ExecutionStatus.Completed, DateTimeOffset.UtcNow, null, [], []);
        await _home.Client.Store.FinishRunAsync(run.Id, ExecutionStatus.Completed, DateTimeOffset.UtcNow, null);
        await reading.WaitAsync(TimeSpan.FromSeconds(30)); // the stream ends after `done`
        var names = lines.Where(l => l.StartsWith("event:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["event: update", "event: done"], names);
        Assert.Contains(lines, l => l.Contains("id=\"run-status\"", StringComparison.Ordinal) && l.Contains(">completed<", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_step_that_prints_markup_shows_it_as_text()
    {
        var result = await _home.RunAsync(Demo.Build);
        Assert.False(result.Succeeded);
        var inject = (await _home.Client.Store.ListStepRunsAsync(result.Run.Id)).Single(s => s.Name == "inject");
        var server = await _home.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };

        var response = await http.GetAsync($"/steps/{inject.Id}");
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("&lt;script&gt;window.__injected = 1&lt;/script&gt;", html);
        Assert.Contains("&lt;img src=x onerror=&quot;window.__injected = 2&quot;&gt;", html);
        Assert.Contains("bad &lt;b&gt;row&lt;/b&gt;", html);
        Assert.DoesNotContain("<script>window", html);
        Assert.DoesNotContain("<img", html);
        Assert.DoesNotContain("<b>row", html);
        // Only the shipped script: no inline script anywhere.
        Assert.Equal(["<script src=\"/static/dashboard.js\" defer></script>"], ScriptTags().Matches(html).Select(m => m.Value));

        var runPage = await http.GetStringAsync($"/runs/{result.Run.Id}");
        Assert.Contains("bad &lt;b&gt;row&lt;/b&gt;", runPage);
        Assert.DoesNotContain("<b>row", runPage);
    }

    [Fact]
    public async Task A_missing_or_corrupt_store_gives_a_clear_page_and_the_server_keeps_serving()
    {
        using var empty = new TempDirectory("strata-dashboard-empty");
        var server = await _home.StartAsync(homePath: empty.Path);
        using var http = new HttpClient { BaseAddress = server.Url };

        var missing = await http.GetAsync("/runs");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, missing.StatusCode);
        var text = await missing.Content.ReadAsStringAsync();
        Assert.Contains("There is no Strata store at", text);
        Assert.False(File.Exists(Path.Combine(empty.Path, "strata.db"))); // the dashboard only reads: it created nothing

        await File.WriteAllTextAsync(Path.Combine(empty.Path, "strata.db"), "this is not a database, just text that fills the header");
        var corrupt = await http.GetAsync("/stacks");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, corrupt.StatusCode);
        var page = await corrupt.Content.ReadAsStringAsync();
        Assert.Contains("cannot be read", page);
        Assert.DoesNotContain("   at ", page);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/static/dashboard.css")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/static/other.js")).StatusCode);
    }

    [Fact]
    public async Task A_layer_too_wide_to_draw_is_one_node_per_status_with_its_count()
    {
        var result = await _home.RunAsync(Wide.Build);
        Assert.False(result.Succeeded);
        var server = await _home.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };

        var html = await http.GetStringAsync($"/runs/{result.Run.Id}");
        var svg = html[html.IndexOf("<svg", StringComparison.Ordinal)..(html.IndexOf("</svg>", StringComparison.Ordinal) + 6)];
        Assert.Equal(2, NodeGroups().Matches(svg).Count);
        Assert.Contains(">59 steps completed</text>", svg);
        Assert.Contains(">1 step failed</text>", svg);
        Assert.DoesNotContain("data-step=", svg);
        Assert.Equal(50, StepRows().Matches(html).Count); // the table lists 50, the failed one first
        Assert.Contains("10 more steps not listed.", html);
    }

    [Fact]
    public async Task A_chain_deeper_than_the_graph_draws_shares_columns_between_neighbouring_steps()
    {
        var result = await _home.RunAsync(Strata.Bench.BenchSteps.Chain(200), noCache: true);
        Assert.True(result.Succeeded, result.Run.Error);
        var server = await _home.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };

        var html = await http.GetStringAsync($"/runs/{result.Run.Id}");
        var svg = html[html.IndexOf("<svg", StringComparison.Ordinal)..(html.IndexOf("</svg>", StringComparison.Ordinal) + 6)];
        var nodes = NodeGroups().Matches(svg).Count;
        Assert.InRange(nodes, 2, 32); // 200 layers in at most 32 columns, one node each
        Assert.Equal(200, CountRegex().Matches(svg).Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            + StepNodes().Matches(svg).Count);
        Assert.Equal(nodes - 1, EdgePaths().Matches(svg).Count); // each column leads to the next
    }

    [Fact]
    public async Task Runs_are_listed_newest_first_in_pages_and_filtered_by_pipeline_and_status()
    {
        for (var i = 0; i < 30; i++)
        {
            var id = $"{i:d4}0000-0000-0000-0000-000000000000";
            await _home.Client.Store.CreateRunAsync(new RunRecord(id, $"run-{i:d2}", i % 3 == 0 ? "scoring" : "training", "default",
                ExecutionStatus.Running, DateTimeOffset.UnixEpoch.AddMinutes(i), null, null, 0));
            if (i % 5 == 0) await _home.Client.Store.FinishRunAsync(id, ExecutionStatus.Failed, DateTimeOffset.UnixEpoch.AddMinutes(i + 1), "boom");
        }
        var server = await _home.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };

        var first = await http.GetStringAsync("/runs");
        Assert.Equal(25, RunRows().Matches(first).Count);
        Assert.Equal("run-29", RunNames().Match(first).Groups[1].Value);
        Assert.Contains("href=\"/runs?page=2\">Older →</a>", first);
        var second = await http.GetStringAsync("/runs?page=2");
        Assert.Equal(["run-04", "run-03", "run-02", "run-01", "run-00"], RunNames().Matches(second).Select(m => m.Groups[1].Value));
        Assert.DoesNotContain("Older", second);

        var failedScoring = await http.GetStringAsync("/runs?pipeline=scoring&status=failed");
        Assert.Equal(["run-15", "run-00"], RunNames().Matches(failedScoring).Select(m => m.Groups[1].Value));
        var none = await http.GetStringAsync("/runs?pipeline=%3Cscript%3E");
        Assert.Contains("No runs match.", none);
        Assert.Contains("value=\"&lt;script&gt;\"", none);
    }

    [GeneratedRegex("<g class=\"node ")]
    private static partial Regex NodeGroups();

    [GeneratedRegex("data-count=\"([0-9]+)\"")]
    private static partial Regex CountRegex();

    [GeneratedRegex("<g class=\"node [^\"]*\" data-step=")]
    private static partial Regex StepNodes();

    [GeneratedRegex("<path class=\"edge\"")]
    private static partial Regex EdgePaths();

    [GeneratedRegex("data-events=\"([^\"]+)\"")]
    private static partial Regex EventsAddress();

    [GeneratedRegex("<tr data-step=")]
    private static partial Regex StepRows();

    [GeneratedRegex("<tr><td><a href=\"/runs/")]
    private static partial Regex RunRows();

    [GeneratedRegex("<tr><td><a href=\"/runs/[^\"]+\">([^<]+)</a>")]
    private static partial Regex RunNames();

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [GeneratedRegex("<script[^>]*>[^<]*</script>")]
    private static partial Regex ScriptTags();
}
