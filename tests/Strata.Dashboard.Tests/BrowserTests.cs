using Microsoft.Playwright;
using Strata.Dashboard.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Strata.Dashboard.Tests;

/// <summary>What a user sees in Chromium: real pipelines run in a real store, then the dashboard's pages over it.</summary>
public sealed class BrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly LocatorAssertionsToHaveTextOptions Live = new() { Timeout = 30_000 };
    private DashboardHome _home = null!;

    public async Task InitializeAsync() => _home = await DashboardHome.CreateAsync();

    public async Task DisposeAsync() => await _home.DisposeAsync();

    [Fact]
    public async Task The_run_page_shows_the_graph_in_status_colours_and_the_failing_steps_error_and_log()
    {
        var result = await _home.RunAsync(Demo.Build);
        Assert.False(result.Succeeded);
        var server = await _home.StartAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(new Uri(server.Url, "/runs").ToString());
        var row = page.Locator("table.runs tbody tr").First;
        await Expect(row).ToContainTextAsync("demo");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("failed");
        await Expect(row).ToContainTextAsync("1 failed");
        await BrowserFixture.AssertAccessibleAsync(page);

        await row.Locator("a").First.ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Run {result.Run.Name}");
        Assert.Equal("rgb(26, 127, 55)", await FillAsync(page, "load"));     // completed: green
        Assert.Equal("rgb(26, 127, 55)", await FillAsync(page, "evaluate"));
        Assert.Equal("rgb(207, 34, 46)", await FillAsync(page, "inject"));   // failed: red
        Assert.Equal("rgb(89, 99, 110)", await FillAsync(page, "report"));   // skipped: grey
        // load→train→evaluate, load→inject from what each step read; inject→report from the pipeline's graph kept with the run.
        Assert.Equal(4, await page.Locator("svg.dag path.edge").CountAsync());
        await Expect(page.Locator("svg.dag path.edge title", new() { HasText = "inject → report" })).ToHaveCountAsync(1);
        await Expect(page.Locator("tr[data-step=inject] .detail")).ToContainTextAsync("bad <b>row</b>");
        await BrowserFixture.AssertAccessibleAsync(page);

        // The failing step: its error and log as text, nothing of it run.
        await page.Locator("svg.dag g.node[data-step=inject]").ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Step inject");
        await Expect(page.Locator("#step-status")).ToHaveTextAsync("failed");
        await Expect(page.Locator("#step-error")).ToContainTextAsync("InvalidOperationException");
        await Expect(page.Locator("#step-error")).ToContainTextAsync("bad <b>row</b> 300 <img src=x onerror=\"window.__injected = 3\">");
        await Expect(page.Locator("#log")).ToContainTextAsync("<script>window.__injected = 1</script>");
        await Expect(page.Locator("#log")).ToContainTextAsync("<img src=x onerror=\"window.__injected = 2\">");
        Assert.Equal(0, await page.Locator("main img, main script, main b").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__injected"));
        await BrowserFixture.AssertAccessibleAsync(page);

        // The first step: who read its output, both ways.
        await page.GoBackAsync();
        await page.Locator("svg.dag g.node[data-step=load]").ClickAsync();
        var readers = page.Locator("table.outputs tbody tr a.chip");
        await Expect(readers).ToHaveCountAsync(2);
        await Expect(page.Locator("table.outputs")).ToContainTextAsync("train (rows)");
        await Expect(page.Locator("table.outputs")).ToContainTextAsync("inject (rows)");
        await page.Locator("table.outputs tbody tr td a").First.ClickAsync();
        await Expect(page.Locator("#artifact-readers a")).ToHaveCountAsync(2);
        await Expect(page.Locator("#artifact-readers")).ToContainTextAsync($"{result.Run.Name} / train (rows)");
        await BrowserFixture.AssertAccessibleAsync(page);
        await page.Locator("#artifact-readers a", new() { HasText = "inject" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Step inject");
        await page.GoBackAsync();
        await page.GoBackAsync();

        // A step that worked: its log, searchable; its output, shown inline on the artifact's page.
        await page.GoBackAsync();
        await page.Locator("svg.dag g.node[data-step=train]").ClickAsync();
        await Expect(page.Locator("#log")).ToContainTextAsync("training on 300 rows");
        await page.Locator("#log-search").FillAsync("epoch");
        await Expect(page.Locator("#log")).ToHaveTextAsync("epoch 1 loss=0.42");
        await page.GoBackAsync();
        await page.Locator("tr[data-step=evaluate] a.chip").ClickAsync();
        await Expect(page.Locator("#artifact-value")).ToContainTextAsync("accuracy=6");
        await BrowserFixture.AssertAccessibleAsync(page);
        await page.Locator("nav[aria-label=Main] a", new() { HasText = "Artifacts" }).ClickAsync();
        await Expect(page.Locator("main table tbody tr")).ToHaveCountAsync(3); // load, train and evaluate stored an output
        await BrowserFixture.AssertAccessibleAsync(page);
    }

    [Fact]
    public async Task The_stacks_page_masks_secret_values_as_the_cli_does_and_shows_references()
    {
        FlavorRegistry.Default.AddAws();
        await _home.Client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "lake", "s3", new Dictionary<string, string>
        {
            ["path"] = "s3://bucket/strata", ["secret_access_key"] = "plain-secret-value", ["access_key_id"] = "{{aws.access_key_id}}",
        });
        await _home.Client.Stacks.RegisterStackAsync("cloud", "default", "lake");
        var server = await _home.StartAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(new Uri(server.Url, "/stacks").ToString());
        await Expect(page.Locator("section[data-stack=default] h2")).ToContainTextAsync("active");
        var lake = page.Locator("section[data-stack=cloud] tr[data-component=lake]");
        await Expect(lake).ToContainTextAsync("s3");
        await Expect(lake.Locator("dd[data-key=secret_access_key]")).ToHaveTextAsync(StackManager.Masked);
        await Expect(lake.Locator("dd[data-key=access_key_id]")).ToHaveTextAsync("{{aws.access_key_id}}");
        await Expect(lake.Locator("dd[data-key=path]")).ToHaveTextAsync("s3://bucket/strata");
        Assert.DoesNotContain("plain-secret-value", await page.ContentAsync());
        await BrowserFixture.AssertAccessibleAsync(page);
    }

    [Fact]
    public async Task A_running_run_turns_completed_on_its_page_without_a_reload()
    {
        Gated.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = _home.RunAsync(Gated.Build);
        var waiting = await WaitForRunningStepAsync("wait");
        var server = await _home.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(server.Url, $"/runs/{waiting.RunId}").ToString());
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("running");
        Assert.Equal("rgb(154, 103, 0)", await FillAsync(page, "wait")); // running: amber
        // The step still to run is drawn in its place, after the running one, and links nowhere yet.
        await Expect(page.Locator("svg.dag g.node[data-step=last]")).ToHaveAttributeAsync("data-status", "pending");
        await Expect(page.Locator("svg.dag path.edge title", new() { HasText = "wait → last" })).ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("svg.dag a g.node[data-step=last]").CountAsync());
        await BrowserFixture.AssertAccessibleAsync(page);
        var stepPage = await browser.NewPageAsync();
        await stepPage.GotoAsync(new Uri(server.Url, $"/steps/{waiting.Id}").ToString());
        await Expect(stepPage.Locator("#step-status")).ToHaveTextAsync("running");
        await BrowserFixture.AssertAccessibleAsync(stepPage);
        // Marks of these page loads: a reload would drop them.
        await page.EvaluateAsync("() => { window.__loaded = 'first'; }");
        await stepPage.EvaluateAsync("() => { window.__loaded = 'first'; }");

        Gated.Gate.SetResult();
        Assert.True((await running).Succeeded);

        await Expect(page.Locator("#run-status")).ToHaveTextAsync("completed", Live);
        await Expect(page.Locator("svg.dag g.node[data-step=last]")).ToHaveAttributeAsync("data-status", "completed");
        Assert.Equal("rgb(26, 127, 55)", await FillAsync(page, "wait"));
        Assert.Equal(0, await page.Locator("form.cancel").CountAsync());
        Assert.Equal("first", await page.EvaluateAsync<string>("() => window.__loaded"));
        await Expect(stepPage.Locator("#step-status")).ToHaveTextAsync("completed", Live);
        await Expect(stepPage.Locator("#log")).ToContainTextAsync("the gate opened");
        Assert.Equal("first", await stepPage.EvaluateAsync<string>("() => window.__loaded"));
    }

    [Fact]
    public async Task Cancel_on_the_run_page_cancels_the_running_run()
    {
        Gated.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = _home.RunAsync(Gated.Build);
        var waiting = await WaitForRunningStepAsync("wait");
        var server = await _home.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(server.Url, $"/runs/{waiting.RunId}").ToString());
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("running");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();

        await Expect(page.Locator("#run-status")).ToHaveTextAsync("cancelled", Live);
        var result = await running;
        Assert.Equal(ExecutionStatus.Cancelled, result.Run.Status);
        await Expect(page.Locator("svg.dag g.node[data-step=wait]")).ToHaveAttributeAsync("data-status", "cancelled");
        Assert.Equal("rgb(130, 80, 223)", await FillAsync(page, "wait")); // cancelled: purple
        await BrowserFixture.AssertAccessibleAsync(page);
    }

    [Fact]
    public async Task A_10000_step_run_draws_its_wide_layers_as_counted_nodes_and_lists_its_steps_in_pages()
    {
        var result = await _home.RunAsync(Strata.Bench.BenchSteps.FanOutFanIn(10_000), noCache: true);
        Assert.True(result.Succeeded, result.Run.Error);
        var server = await _home.StartAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(new Uri(server.Url, $"/runs/{result.Run.Id}").ToString());
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("completed");
        await Expect(page.Locator("dl.facts .count")).ToHaveTextAsync("10000 completed");
        // source → 5000 shards → 2500 sums → … → one total: the wide layers are one node each, with the count.
        var shards = page.Locator("svg.dag g.node[data-count='5000']");
        await Expect(shards).ToHaveAttributeAsync("data-status", "completed");
        await Expect(shards.Locator("text")).ToHaveTextAsync("5000 steps completed");
        await Expect(page.Locator("svg.dag g.node[data-count='2500']")).ToHaveCountAsync(1);
        Assert.InRange(await page.Locator("svg.dag g.node").CountAsync(), 14, 60);
        await Expect(page.Locator("svg.dag")).ToHaveAttributeAsync("aria-label", "Pipeline graph of 10000 steps: 10000 completed");
        Assert.Equal("rgb(26, 127, 55)", await page.Locator("svg.dag g.node[data-count='5000'] rect")
            .EvaluateAsync<string>("r => getComputedStyle(r).fill"));
        await Expect(page.Locator("table.steps tbody tr")).ToHaveCountAsync(50);
        await Expect(page.Locator("main")).ToContainTextAsync("9950 more steps not listed.");
        await BrowserFixture.AssertAccessibleAsync(page);

        // The last steps are drawn one by one: the total links to its step page.
        var last = result.Steps[^1].Name;
        await page.Locator($"svg.dag g.node[data-step='{last}']").ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Step {last}");
        await Expect(page.Locator("table.inputs tbody tr")).ToHaveCountAsync(2);
    }

    private static Task<string> FillAsync(IPage page, string step) =>
        page.Locator($"svg.dag g.node[data-step={step}] rect").EvaluateAsync<string>("r => getComputedStyle(r).fill");

    private async Task<StepRunRecord> WaitForRunningStepAsync(string name)
    {
        for (var i = 0; i < 600; i++)
        {
            var runs = await _home.Client.Store.ListRunsAsync();
            if (runs.Count > 0)
            {
                var step = (await _home.Client.Store.ListStepRunsAsync(runs[0].Id)).FirstOrDefault(s => s.Name == name && s.Status == ExecutionStatus.Running);
                if (step is not null) return step;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        throw new TimeoutException($"step '{name}' did not start");
    }

    /// <summary>
    /// The Quickstart's run page as a user sees it, kept beside the tests; with STRATA_DASHBOARD_SCREENSHOT=1 also as docs/dashboard.png,
    /// the README's picture.
    /// </summary>
    internal static async Task ScreenshotAsync(IPage page)
    {
        var bytes = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        await File.WriteAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "dashboard-run.png"), bytes);
        if (Environment.GetEnvironmentVariable("STRATA_DASHBOARD_SCREENSHOT") == "1")
            await File.WriteAllBytesAsync(Path.Combine(RepoPaths.Root, "docs", "dashboard.png"), bytes);
    }
}
