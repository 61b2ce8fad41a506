using Microsoft.Playwright;
using Strata.Dashboard.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Strata.Dashboard.Tests;

/// <summary>The real <c>strata</c> command: the dashboard over the Quickstart's home, and the live log of a step on a step operator.</summary>
public sealed class CommandLineTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IDisposable
{
    private static readonly LocatorAssertionsToContainTextOptions Live = new() { Timeout = 60_000 };
    private readonly TempDirectory _home = new("strata-dashboard-cli");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Strata_dashboard_prints_its_address_shows_the_Quickstarts_run_and_train_log_and_stops_on_ctrl_c()
    {
        using (var quickstart = StrataCommand.Start(_home.Path, null, RepoPaths.QuickstartDll()))
            Assert.True(await quickstart.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, quickstart.Out + quickstart.Error);

        using var dashboard = StrataCommand.Start(_home.Path, null, null, "dashboard", "--port", "0");
        var line = await dashboard.WaitForLineAsync("Strata dashboard: ", TimeSpan.FromMinutes(1));
        var url = new Uri(line["Strata dashboard: ".Length..].Trim());
        Assert.Equal("127.0.0.1", url.Host);
        Assert.True(dashboard.Nice > 0, $"the dashboard runs at nice {dashboard.Nice}: it should yield the CPU to pipelines");
        var page = await browser.NewPageAsync();

        await page.GotoAsync(url.ToString());
        var row = page.Locator("table.runs tbody tr").First;
        await Expect(row).ToContainTextAsync("quickstart");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("completed");
        await row.Locator("a").First.ClickAsync();
        var nodes = page.Locator("svg.dag g.node");
        await Expect(nodes).ToHaveCountAsync(4);
        foreach (var status in await nodes.EvaluateAllAsync<string[]>("ns => ns.map(n => n.dataset.status)")) Assert.Equal("completed", status);
        Assert.Equal(4, await page.Locator("svg.dag path.edge").CountAsync()); // data→split, split→train, split→evaluate, train→evaluate
        await BrowserFixture.AssertAccessibleAsync(page);
        await BrowserTests.ScreenshotAsync(page);

        await page.Locator("svg.dag g.node[data-step=train]").ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Step train");
        await Expect(page.Locator("main dl.facts")).ToContainTextAsync("local (local-process)");
        await Expect(page.Locator("#step-job")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$")); // the job's process id
        await Expect(page.Locator("#log")).ToContainTextAsync("trained FastTree with 100 trees");
        await BrowserFixture.AssertAccessibleAsync(page);

        dashboard.Interrupt();
        Assert.Equal(0, await dashboard.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Dashboard stopped.", dashboard.Out);
        Assert.DoesNotContain("Unhandled", dashboard.Error);
    }

    [Fact]
    public async Task A_step_on_a_step_operator_shows_its_log_live_while_it_runs()
    {
        var gate = Path.Combine(_home.Path, "gate");
        var samples = Path.Combine(AppContext.BaseDirectory, "SamplePipelines.dll");
        // The step process gets the operator's environment, not the command's.
        using (var update = StrataCommand.Start(_home.Path, null, null, "step-operator", "update", "local",
            $"--environment={SamplePipelines.Tailed.GateVariable}={gate}"))
            Assert.True(await update.WaitForExitAsync(TimeSpan.FromMinutes(1)) == 0, update.Out + update.Error);
        using var run = StrataCommand.Start(_home.Path, null, null, "pipeline", "run", "tailed", "--assembly", samples);
        await using var home = new DashboardHomeView(_home.Path);
        var step = await home.WaitForRunningJobAsync("follow", run);
        var server = await home.StartAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(new Uri(server.Url, $"/steps/{step.Id}").ToString());
        await Expect(page.Locator("#step-status")).ToHaveTextAsync("running");
        await Expect(page.Locator("#log")).ToContainTextAsync("before the gate: line 2", Live);
        await page.EvaluateAsync("() => { window.__loaded = 'first'; }");
        await BrowserFixture.AssertAccessibleAsync(page);

        await File.WriteAllTextAsync(gate, "open");
        await Expect(page.Locator("#log")).ToContainTextAsync("after the gate", Live);
        await Expect(page.Locator("#step-status")).ToHaveTextAsync("completed", new() { Timeout = 60_000 });
        Assert.Equal("first", await page.EvaluateAsync<string>("() => window.__loaded"));
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, run.Out + run.Error);
    }
}
