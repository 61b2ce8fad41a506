using System.Data.Common;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Strata.Dashboard;

/// <summary>The dashboard's pages and live streams, each read from the store on request.</summary>
internal sealed partial class Pages(StoreAccess store, TimeProvider time, CancellationToken stopping, IAntiforgery antiforgery)
{
    private const int RunsPerPage = 25;
    private const int StepTableCap = 50;
    private const int ArtifactsShown = 100;
    private const int InlineLimit = 4096;
    private const int ReadersShown = 50;
    private const int LabelledGraphLimit = 500;
    private static readonly TimeSpan LiveInterval = TimeSpan.FromSeconds(1);

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect("/runs"));
        app.MapGet("/static/{name}", Static);
        app.MapGet("/runs", RunsAsync);
        app.MapGet("/runs/{id}", RunAsync);
        app.MapGet("/runs/{id}/events", RunEventsAsync);
        app.MapPost("/runs/{id}/cancel", CancelAsync);
        app.MapGet("/steps/{id}", StepAsync);
        app.MapGet("/steps/{id}/log.txt", StepLogAsync);
        app.MapGet("/steps/{id}/log/events", StepLogEventsAsync);
        app.MapGet("/artifacts", ArtifactsAsync);
        app.MapGet("/artifacts/{id}", ArtifactAsync);
        app.MapGet("/stacks", StacksAsync);
    }

    /// <summary>
    /// Turns a store that cannot be read (missing, busy, corrupt, unreachable) into a page that says so, and a bug into a page without
    /// a stack trace; the server goes on serving.
    /// </summary>
    public async Task Errors(HttpContext context, Func<Task> next)
    {
        try
        {
            await next().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, title, message) = e switch
            {
                StoreMissingException => (503, "No store yet", e.Message),
                NotFoundException => (404, "Not found", e.Message),
                StrataException => (503, "The store cannot be read", e.Message),
                DbException => (503, "The store cannot be read",
                    $"The store at {store.Home.Path} could not be read ({e.Message.Trim()}). It may be busy or damaged; this page tries again on reload."),
                _ => (500, "Something went wrong", $"{e.GetType().Name}: {e.Message}"),
            };
            context.Response.Clear();
            context.Response.StatusCode = status;
            var body = new Html().Raw("<h1>").T(title).Raw("</h1><p class=\"error\" role=\"alert\">").T(message).Raw("</p>").ToString();
            await WriteHtml(context, Html.Page(title, "", store.Home.Path, body)).ConfigureAwait(false);
        }
    }

    private static IResult Static(string name)
    {
        var type = name switch { "dashboard.js" => "text/javascript; charset=utf-8", "dashboard.css" => "text/css; charset=utf-8", _ => null };
        if (type is null) return Results.NotFound();
        var stream = typeof(Pages).Assembly.GetManifestResourceStream(name)!;
        return Results.Stream(stream, type);
    }

    private static Task WriteHtml(HttpContext context, string html)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(html, context.RequestAborted);
    }

    private async Task<StrataClient> ClientAsync(HttpContext context) => await store.GetAsync(context.RequestAborted).ConfigureAwait(false);

    private Task Page(HttpContext context, StrataClient client, string title, string active, string body) =>
        WriteHtml(context, Html.Page(title, active, client.Store.Location, body));

    // ---- runs ----

    private async Task RunsAsync(HttpContext context)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var ct = context.RequestAborted;
        var q = context.Request.Query;
        var pipeline = q["pipeline"].ToString() is { Length: > 0 } p ? p : null;
        ExecutionStatus? status = Enum.TryParse<ExecutionStatus>(q["status"].ToString(), true, out var s) ? s : null;
        var page = int.TryParse(q["page"].ToString(), out var n) && n > 1 ? n : 1;
        var runs = await client.Store.ListRunsPageAsync(pipeline, status, (page - 1) * RunsPerPage, RunsPerPage + 1, ct).ConfigureAwait(false);
        var more = runs.Count > RunsPerPage;

        var h = new Html().Raw("<h1>Runs</h1>");
        h.Raw("<form class=\"filters\" method=\"get\" action=\"/runs\" role=\"search\"><label>Pipeline <input name=\"pipeline\" type=\"text\"")
            .Attr("value", pipeline).Raw("></label><label>Status <select name=\"status\"><option value=\"\">any</option>");
        foreach (var option in Enum.GetValues<ExecutionStatus>())
        {
            h.Raw("<option").Attr("value", Html.Status(option));
            if (option == status) h.Raw(" selected");
            h.Raw(">").T(Html.Status(option)).Raw("</option>");
        }
        h.Raw("</select></label><button type=\"submit\">Filter</button></form>");
        if (runs.Count == 0)
        {
            h.Raw("<p class=\"muted\">").T(pipeline is null && status is null ? "No runs yet. Run a pipeline with `strata pipeline run`." : "No runs match.")
                .Raw("</p>");
        }
        else
        {
            h.Table("runs", "Run", "Pipeline", "Stack", "Status", "Started", "Duration", "Steps");
            foreach (var r in runs.Take(RunsPerPage))
            {
                var counts = (await client.Store.CountStepsAsync(r.Id, ct).ConfigureAwait(false)).Latest;
                h.Raw("<tr><td>").Link("/runs/" + Html.Seg(r.Id), r.Name).Raw("</td><td>")
                    .Link("/runs?pipeline=" + Uri.EscapeDataString(r.Pipeline), r.Pipeline).Raw("</td><td>").T(r.Stack).Raw("</td><td>").Badge(r.Status)
                    .Raw("</td><td>").T(Html.Time(r.StartedAt)).Raw("</td><td>").T(Html.Duration(r.StartedAt, r.FinishedAt, time)).Raw("</td><td>");
                StepCounts(h, counts);
                h.Raw("</td></tr>");
            }
            h.Raw("</tbody></table>");
        }
        h.Raw("<nav class=\"pager\" aria-label=\"Pages of runs\">");
        string PageLink(int to) => "/runs?" + string.Join('&', new[]
        {
            pipeline is null ? null : "pipeline=" + Uri.EscapeDataString(pipeline),
            status is null ? null : "status=" + Html.Status(status.Value),
            "page=" + Html.Num(to),
        }.Where(x => x is not null));
        if (page > 1) h.Link(PageLink(page - 1), "← Newer");
        h.Raw("<span>").T($"Page {page}").Raw("</span>");
        if (more) h.Link(PageLink(page + 1), "Older →");
        h.Raw("</nav>");
        await Page(context, client, "Runs", "Runs", h.ToString()).ConfigureAwait(false);
    }

    private static void StepCounts(Html h, IReadOnlyDictionary<ExecutionStatus, int> counts)
    {
        h.Raw("<span class=\"counts\">");
        foreach (var (status, count) in counts.OrderBy(c => c.Key))
            h.Raw("<span").Attr("class", "count status-" + Html.Status(status)).Raw(">").T($"{count} {Html.Status(status)}").Raw("</span>");
        h.Raw("</span>");
    }

    private static async Task<RunRecord> FindRunAsync(StrataClient client, string id, CancellationToken ct) =>
        await client.Store.FindRunAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"No run '{id}'.");

    private async Task RunAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var run = await FindRunAsync(client, id, context.RequestAborted).ConfigureAwait(false);
        var tokens = antiforgery.GetAndStoreTokens(context);
        // Read before the page is drawn: a step that changes in between makes the live stream draw the part again, never miss it.
        var state = await RunStateAsync(client, run, context.RequestAborted).ConfigureAwait(false);
        var live = await LiveRunAsync(client, run, tokens.RequestToken!, context.RequestAborted).ConfigureAwait(false);
        var h = new Html().Raw("<h1>Run ").T(run.Name).Raw("</h1>");
        h.Raw("<div id=\"live\"");
        if (!run.Status.IsFinished()) h.Attr("data-events", $"/runs/{Html.Seg(run.Id)}/events?v={Fingerprint(live)}&s={Uri.EscapeDataString(state)}");
        h.Raw(" aria-live=\"polite\">").Raw(live).Raw("</div>");
        await Page(context, client, "Run " + run.Name, "Runs", h.ToString()).ConfigureAwait(false);
    }

    /// <summary>The part of a run's page that changes while it runs: its summary, cancel button, graph and step table.</summary>
    private async Task<string> LiveRunAsync(StrataClient client, RunRecord run, string csrf, CancellationToken ct)
    {
        var all = await client.Store.ListStepRunsAsync(run.Id, ct).ConfigureAwait(false);
        var latest = all.GroupBy(s => s.Name, StringComparer.Ordinal).Select(g => g.MaxBy(s => s.Attempt)!).ToArray();
        var counts = latest.CountBy(s => s.Status).ToDictionary();
        var graph = await client.Store.GetRunGraphAsync(run.Id, ct).ConfigureAwait(false);
        // What each step read labels the graph's edges; a large run's graph comes from the kept graph alone (its edges are drawn
        // between aggregated nodes, where one artifact's name says little), which spares reading every link of the run.
        var labelled = graph is null || latest.Length <= LabelledGraphLimit;
        var inputs = labelled ? await client.Store.GetStepInputsAsync(run.Id, ct).ConfigureAwait(false) : [];
        var outputs = labelled ? await client.Store.GetStepOutputsAsync(run.Id, ct).ConfigureAwait(false) : [];
        var h = new Html();
        h.Raw("<dl class=\"facts\"><dt>Status</dt><dd>").Badge(run.Status, "run-status").Raw("</dd><dt>Pipeline</dt><dd>")
            .Link("/runs?pipeline=" + Uri.EscapeDataString(run.Pipeline), run.Pipeline).Raw("</dd><dt>Stack</dt><dd>").Link("/stacks", run.Stack)
            .Raw("</dd><dt>Started</dt><dd>").T(Html.Time(run.StartedAt)).Raw("</dd><dt>Duration</dt><dd>")
            .T(run.FinishedAt is null ? "in progress" : Html.Duration(run.StartedAt, run.FinishedAt, time)).Raw("</dd><dt>Steps</dt><dd>");
        StepCounts(h, counts);
        h.Raw("</dd><dt>Run id</dt><dd><code>").T(run.Id).Raw("</code></dd></dl>");
        if (run.Error is not null) h.Raw("<p class=\"error\" role=\"alert\">").T(run.Error).Raw("</p>");
        if (!run.Status.IsFinished())
        {
            h.Raw("<form class=\"cancel\" method=\"post\"").Attr("action", $"/runs/{Html.Seg(run.Id)}/cancel")
                .Raw("><input type=\"hidden\" name=\"csrf\"").Attr("value", csrf)
                .Raw("><button type=\"submit\" class=\"danger\">Cancel run</button></form>");
        }
        h.Raw("<h2>Graph</h2><div class=\"dag-frame\">").Raw(Dag.Render(latest, inputs, outputs, graph, run.Status.IsFinished())).Raw("</div>");

        // The table lists the steps that did not succeed first, as `strata run show` does.
        var listed = latest.OrderBy(s => s.Status.IsSuccess()).ThenBy(s => s.StartedAt ?? s.FinishedAt).Take(StepTableCap).ToArray();
        var outputsOf = (labelled ? outputs : await client.Store.GetStepOutputsAsync(listed.Select(s => s.Id).ToArray(), ct).ConfigureAwait(false))
            .ToLookup(o => o.StepRunId);
        h.Raw("<h2>Steps</h2>").Table("steps", "Step", "Status", "Attempt", "Step operator", "Duration", "Outputs", "Detail");
        foreach (var s in listed)
        {
            h.Raw("<tr").Attr("data-step", s.Name).Raw("><td>").Link("/steps/" + Html.Seg(s.Id), s.Name).Raw("</td><td>").Badge(s.Status)
                .Raw("</td><td>").T(Html.Num(s.Attempt)).Raw("</td><td>").T(s.StepOperator ?? "in process").Raw("</td><td>")
                .T(s.FinishedAt is null ? (s.StartedAt is null ? "" : "in progress") : Html.Duration(s.StartedAt, s.FinishedAt, time)).Raw("</td><td>");
            foreach (var o in outputsOf[s.Id]) h.Link("/artifacts/" + Html.Seg(o.Artifact.Id), o.Name, "chip");
            h.Raw("</td><td class=\"detail\">").T(s.Error ?? (s.CachedFromStepRunId is not null ? "cached" : "")).Raw("</td></tr>");
        }
        h.Raw("</tbody></table>");
        if (latest.Length > listed.Length) h.Raw("<p class=\"muted\">").T($"{latest.Length - listed.Length} more steps not listed.").Raw("</p>");
        return h.ToString();
    }

    /// <summary>Server-sent events: the run's live part whenever it changed, then <c>done</c> once the run ended.</summary>
    private async Task RunEventsAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var run = await FindRunAsync(client, id, context.RequestAborted).ConfigureAwait(false);
        var csrf = antiforgery.GetAndStoreTokens(context).RequestToken!;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = linked.Token;
        await StartEventsAsync(context, ct).ConfigureAwait(false);
        // What the page already shows: an update is sent only when the run's part differs from it.
        var last = context.Request.Query["v"].ToString();
        var lastState = context.Request.Query["s"].ToString();
        try
        {
            while (true)
            {
                run = await FindRunAsync(client, run.Id, ct).ConfigureAwait(false);
                var state = await RunStateAsync(client, run, ct).ConfigureAwait(false);
                var wait = LiveInterval;
                if (state != lastState)
                {
                    var started = time.GetTimestamp();
                    var live = await LiveRunAsync(client, run, csrf, ct).ConfigureAwait(false);
                    var fingerprint = Fingerprint(live);
                    if (fingerprint != last) await SendAsync(context, "update", live, ct).ConfigureAwait(false);
                    last = fingerprint;
                    lastState = state;
                    // Drawing a large run takes a while: waiting ten times as long keeps a page that follows it to a tenth of a core,
                    // so watching a run never slows it much.
                    wait = TimeSpan.FromTicks(Math.Max(LiveInterval.Ticks, time.GetElapsedTime(started).Ticks * 10));
                }
                if (run.Status.IsFinished())
                {
                    await SendAsync(context, "done", Html.Status(run.Status), ct).ConfigureAwait(false);
                    return;
                }
                await Task.Delay(wait, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The run's status and its step runs counted by status: they change whenever a step starts, ends or is retried. The live part is
    /// drawn again only then, so a page left open on a large run costs a count per interval, not a rendering.
    /// </summary>
    private static async Task<string> RunStateAsync(StrataClient client, RunRecord run, CancellationToken ct)
    {
        var counts = await client.Store.CountStepRunsAsync(run.Id, ct).ConfigureAwait(false);
        return Html.Status(run.Status) + string.Concat(counts.OrderBy(c => c.Key).Select(c => $" {Html.Status(c.Key)}={Html.Num(c.Value)}"));
    }

    /// <summary>
    /// Tells two renderings of a run's live part apart. The anti-forgery token in it differs from request to request, so it is left out;
    /// nothing in the part ticks by itself (an unfinished duration reads "in progress"), so an unchanged run sends nothing.
    /// </summary>
    private static string Fingerprint(string live)
    {
        var withoutToken = CsrfValue().Replace(live, "");
        return Convert.ToHexStringLower(System.IO.Hashing.XxHash64.Hash(Encoding.UTF8.GetBytes(withoutToken)));
    }

    [System.Text.RegularExpressions.GeneratedRegex("name=\"csrf\" value=\"[^\"]*\"")]
    private static partial System.Text.RegularExpressions.Regex CsrfValue();

    /// <summary>Sends the stream's headers at once: a stream with nothing to say yet is open, not pending.</summary>
    private static async Task StartEventsAsync(HttpContext context, CancellationToken ct)
    {
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(ct).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static async Task SendAsync(HttpContext context, string name, string data, CancellationToken ct)
    {
        var b = new StringBuilder("event: ").Append(name).Append('\n');
        foreach (var line in data.Replace("\r", "", StringComparison.Ordinal).Split('\n')) b.Append("data: ").Append(line).Append('\n');
        b.Append('\n');
        await context.Response.WriteAsync(b.ToString(), ct).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Cancels a running run as <c>strata run cancel</c> does; the form must carry the page's anti-forgery token.</summary>
    private async Task<IResult> CancelAsync(HttpContext context, string id)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Content("400: the cancel request did not carry this dashboard's form token; reload the run's page and press Cancel again.",
                "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status400BadRequest);
        }
        var client = await ClientAsync(context).ConfigureAwait(false);
        var run = await FindRunAsync(client, id, context.RequestAborted).ConfigureAwait(false);
        if (!run.Status.IsFinished())
        {
            // The request returns at once; the page follows the run to its end. CancelRunAsync asks the running process first and stops
            // the jobs itself only when that process is gone.
            await client.Store.RequestCancelAsync(run.Id, context.RequestAborted).ConfigureAwait(false);
            _ = Task.Run(async () =>
            {
                try { await client.CancelRunAsync(run.Id, TimeSpan.FromSeconds(30), stopping).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or StrataException or DbException) { }
            }, CancellationToken.None);
        }
        return Results.Redirect($"/runs/{Html.Seg(run.Id)}", permanent: false, preserveMethod: false);
    }

    // ---- steps ----

    private static async Task<StepRunRecord> FindStepAsync(StrataClient client, string id, CancellationToken ct) =>
        await client.Store.GetStepRunAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"No step run '{id}'.");

    private async Task StepAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var ct = context.RequestAborted;
        var step = await FindStepAsync(client, id, ct).ConfigureAwait(false);
        var run = await FindRunAsync(client, step.RunId, ct).ConfigureAwait(false);
        // This step's links and attempts alone: a step of a 100,000-step run opens as fast as one of a small run.
        var inputs = await client.Store.GetStepRunInputsAsync(run.Id, [step.Id], ct).ConfigureAwait(false);
        var outputs = await client.Store.GetStepOutputsAsync([step.Id], ct).ConfigureAwait(false);
        var attempts = await client.Store.ListStepAttemptsAsync(run.Id, step.Name, ct).ConfigureAwait(false);
        var log = await client.Store.GetStepLogAsync(step.Id, ct).ConfigureAwait(false) ?? "";
        string? flavor = null;
        if (step.StepOperator is not null)
            flavor = (await client.Store.GetComponentAsync(ComponentType.StepOperator, step.StepOperator, ct).ConfigureAwait(false))?.Flavor;
        StepJob? job = null;
        if (step.Job is not null)
        {
            try { job = JsonSerializer.Deserialize<StepJob>(step.Job, JsonOptions); }
            catch (JsonException) { }
        }

        var h = new Html().Raw("<p class=\"crumbs\">").Link("/runs", "Runs").Raw(" / ").Link("/runs/" + Html.Seg(run.Id), run.Name).Raw("</p>");
        h.Raw("<h1>Step ").T(step.Name).Raw("</h1>");
        h.Raw("<dl class=\"facts\"><dt>Status</dt><dd>").Badge(step.Status, "step-status").Raw("</dd><dt>Attempt</dt><dd>");
        foreach (var a in attempts)
        {
            if (a.Id == step.Id) h.Raw("<strong>").T(Html.Num(a.Attempt)).Raw("</strong> ");
            else h.Link("/steps/" + Html.Seg(a.Id), $"{a.Attempt} ({Html.Status(a.Status)})").Raw(" ");
        }
        h.Raw("</dd><dt>Step operator</dt><dd>").T(step.StepOperator is null ? "in process" : $"{step.StepOperator} ({flavor ?? "unknown flavor"})")
            .Raw("</dd><dt>Job</dt><dd id=\"step-job\">").T(job?.JobId ?? "").Raw("</dd><dt>Started</dt><dd>").T(Html.Time(step.StartedAt))
            .Raw("</dd><dt>Finished</dt><dd>").T(Html.Time(step.FinishedAt)).Raw("</dd><dt>Duration</dt><dd>")
            .T(Html.Duration(step.StartedAt, step.FinishedAt, time)).Raw("</dd><dt>Function</dt><dd><code>").T(step.StepFullName)
            .Raw("</code></dd><dt>Code version</dt><dd><code>").T(step.CodeVersion).Raw("</code></dd>");
        if (step.CachedFromStepRunId is { } from) h.Raw("<dt>Cached from</dt><dd>").Link("/steps/" + Html.Seg(from), from).Raw("</dd>");
        h.Raw("</dl>");
        if (step.Error is not null) h.Raw("<h2>Error</h2><pre class=\"error\" role=\"alert\" id=\"step-error\">").T(step.Error).Raw("</pre>");
        var readers = new Dictionary<string, IReadOnlyList<(StepRunRecord StepRun, string Input)>>(StringComparer.Ordinal);
        foreach (var o in outputs) readers[o.Artifact.Id] = await client.Store.GetArtifactConsumersAsync(o.Artifact.Id, ct).ConfigureAwait(false);
        ArtifactTable(h, "Inputs", inputs);
        ArtifactTable(h, "Outputs", outputs, readers);

        h.Raw("<h2 id=\"log-heading\">Log</h2><div class=\"log-tools\"><label>Search the log <input type=\"search\" id=\"log-search\"></label>")
            .Raw("<a").Attr("href", $"/steps/{Html.Seg(step.Id)}/log.txt").Attr("download", $"{step.Name}.log").Raw(">Download</a></div>");
        h.Raw("<pre id=\"log\" class=\"log\" tabindex=\"0\" aria-labelledby=\"log-heading\"").Attr("data-text", $"/steps/{Html.Seg(step.Id)}/log.txt");
        if (!step.Status.IsFinished()) h.Attr("data-events", $"/steps/{Html.Seg(step.Id)}/log/events");
        h.Raw(">").T(log).Raw("</pre>");
        await Page(context, client, "Step " + step.Name, "Runs", h.ToString()).ConfigureAwait(false);
    }

    /// <summary>A step's inputs or outputs; for outputs, <paramref name="readers"/> (by artifact id) adds who read each.</summary>
    private static void ArtifactTable(Html h, string title, IReadOnlyList<StepArtifactLink> links,
        Dictionary<string, IReadOnlyList<(StepRunRecord StepRun, string Input)>>? readers = null)
    {
        h.Raw("<h2>").T(title).Raw("</h2>");
        if (links.Count == 0)
        {
            h.Raw("<p class=\"muted\">None.</p>");
            return;
        }
        string[] columns = ["Name", "Artifact", "Type", "Materializer", "Size", "Content hash", "Produced by"];
        h.Table(title.ToLowerInvariant(), readers is null ? columns : [.. columns, "Read by"]);
        foreach (var l in links)
        {
            var a = l.Artifact;
            h.Raw("<tr><td>").T(l.Name).Raw("</td><td>").Link("/artifacts/" + Html.Seg(a.Id), a.Id[^12..]).Raw("</td><td>").T(a.TypeName.Split(',')[0])
                .Raw("</td><td>").T(a.Materializer).Raw("</td><td>").T(Html.Size(a.Size)).Raw("</td><td><code>").T(a.ContentHash).Raw("</code></td><td>");
            if (a.ProducerStepRunId is { } p) h.Link("/steps/" + Html.Seg(p), "step run " + p[^12..]);
            if (readers is not null)
            {
                h.Raw("</td><td>");
                foreach (var (reader, input) in readers.GetValueOrDefault(a.Id) ?? [])
                    h.Link("/steps/" + Html.Seg(reader.Id), $"{reader.Name} ({input})", "chip");
            }
            h.Raw("</td></tr>");
        }
        h.Raw("</tbody></table>");
    }

    private async Task StepLogAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var step = await FindStepAsync(client, id, context.RequestAborted).ConfigureAwait(false);
        var log = await client.Store.GetStepLogAsync(step.Id, context.RequestAborted).ConfigureAwait(false) ?? "";
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(log, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// A running step's log as it is written: the lines its step operator's job streams (as the console of the run shows them), then
    /// <c>done</c> with the step's final status once its record is finished (the page then loads the stored log, which is complete).
    /// </summary>
    private async Task StepLogEventsAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = linked.Token;
        var step = await FindStepAsync(client, id, ct).ConfigureAwait(false);
        await StartEventsAsync(context, ct).ConfigureAwait(false);
        try
        {
            if (!step.Status.IsFinished() && step.Job is not null && step.StepOperator is not null)
                await StreamJobLogAsync(context, client, step, ct).ConfigureAwait(false);
            while (!step.Status.IsFinished())
            {
                await Task.Delay(LiveInterval, time, ct).ConfigureAwait(false);
                step = await FindStepAsync(client, id, ct).ConfigureAwait(false);
            }
            await SendAsync(context, "done", Html.Status(step.Status), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task StreamJobLogAsync(HttpContext context, StrataClient client, StepRunRecord step, CancellationToken ct)
    {
        try
        {
            await foreach (var line in client.StreamStepLogAsync(step.Id, ct).ConfigureAwait(false))
                await SendAsync(context, "line", line, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StrataException or JsonException or IOException or NotSupportedException)
        {
            await SendAsync(context, "line", $"(the live log cannot be followed: {e.Message}; it shows here when the step ends)", ct).ConfigureAwait(false);
        }
    }

    /// <summary>How the store keeps a step's job handle (as core writes it: snake_case).</summary>
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // ---- artifacts ----

    private async Task ArtifactsAsync(HttpContext context)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var ct = context.RequestAborted;
        string? runId = null;
        RunRecord? run = null;
        if (context.Request.Query["run"].ToString() is { Length: > 0 } r) runId = (run = await FindRunAsync(client, r, ct).ConfigureAwait(false)).Id;
        var artifacts = await client.Store.ListArtifactsAsync(runId, ArtifactsShown, ct).ConfigureAwait(false);
        var h = new Html().Raw("<h1>Artifacts").T(run is null ? "" : " of run " + run.Name).Raw("</h1>");
        if (artifacts.Count == 0) h.Raw("<p class=\"muted\">No artifacts yet.</p>");
        else
        {
            h.Table(null, "Artifact", "Output", "Type", "Materializer", "Size", "Created", "Produced by");
            foreach (var a in artifacts)
            {
                h.Raw("<tr><td>").Link("/artifacts/" + Html.Seg(a.Id), a.Id[^12..]).Raw("</td><td>").T(a.OutputName).Raw("</td><td>")
                    .T(a.TypeName.Split(',')[0]).Raw("</td><td>").T(a.Materializer).Raw("</td><td>").T(Html.Size(a.Size)).Raw("</td><td>")
                    .T(Html.Time(a.CreatedAt)).Raw("</td><td>");
                if (a.ProducerStepRunId is { } p) h.Link("/steps/" + Html.Seg(p), "step run " + p[^12..]);
                h.Raw("</td></tr>");
            }
            h.Raw("</tbody></table>");
            if (artifacts.Count == ArtifactsShown) h.Raw("<p class=\"muted\">").T($"The newest {ArtifactsShown} are shown.").Raw("</p>");
        }
        await Page(context, client, "Artifacts", "Artifacts", h.ToString()).ConfigureAwait(false);
    }

    private async Task ArtifactAsync(HttpContext context, string id)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var ct = context.RequestAborted;
        var a = await client.Store.FindArtifactAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"No artifact '{id}'.");
        StepRunRecord? producer = a.ProducerStepRunId is { } p ? await client.Store.GetStepRunAsync(p, ct).ConfigureAwait(false) : null;
        RunRecord? run = producer is null ? null : await client.Store.FindRunAsync(producer.RunId, ct).ConfigureAwait(false);
        var value = await SmallValueAsync(client, a, run, ct).ConfigureAwait(false);
        var h = new Html().Raw("<h1>Artifact ").T(a.OutputName).Raw("</h1><dl class=\"facts\">");
        void Fact(string name, string? text) => h.Raw("<dt>").T(name).Raw("</dt><dd>").T(text).Raw("</dd>");
        Fact("Id", a.Id);
        Fact("URI", a.Uri);
        Fact("Type", a.TypeName);
        Fact("Materializer", $"{a.Materializer} v{a.MaterializerVersion}");
        Fact("Content hash", a.ContentHash);
        Fact("Size", $"{Html.Size(a.Size)} ({a.Size} bytes)");
        Fact("Created", Html.Time(a.CreatedAt));
        h.Raw("<dt>Produced by</dt><dd>");
        if (producer is not null && run is not null)
            h.Link("/runs/" + Html.Seg(run.Id), $"{run.Pipeline}/{run.Name}").Raw(" / ").Link("/steps/" + Html.Seg(producer.Id), producer.Name);
        h.Raw("</dd><dt>Read by</dt><dd id=\"artifact-readers\">");
        var readers = await client.Store.GetArtifactConsumersAsync(a.Id, ct).ConfigureAwait(false);
        var runNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (reader, input) in readers.Take(ReadersShown))
        {
            if (!runNames.TryGetValue(reader.RunId, out var runName))
                runNames[reader.RunId] = runName = (await client.Store.FindRunAsync(reader.RunId, ct).ConfigureAwait(false))?.Name ?? reader.RunId;
            h.Link("/steps/" + Html.Seg(reader.Id), $"{runName} / {reader.Name} ({input})", "chip");
        }
        if (readers.Count > ReadersShown) h.T($" and {readers.Count - ReadersShown} more");
        if (readers.Count == 0) h.Raw("<span class=\"muted\">no step yet</span>");
        h.Raw("</dd></dl>");
        if (value is not null) h.Raw("<h2>Value</h2><pre class=\"value\" id=\"artifact-value\">").T(value).Raw("</pre>");
        await Page(context, client, "Artifact " + a.OutputName, "Artifacts", h.ToString()).ConfigureAwait(false);
    }

    /// <summary>A small primitive or JSON value as stored (checked against its content hash), as <c>strata artifact show</c> prints it.</summary>
    private static async Task<string?> SmallValueAsync(StrataClient client, ArtifactRecord a, RunRecord? run, CancellationToken ct)
    {
        if (a.Size > InlineLimit || a.Materializer is not ("strata.primitive" or "strata.json") || run is null) return null;
        try
        {
            var artifacts = await client.GetArtifactStoreAsync(run.Stack, ct).ConfigureAwait(false);
            return await artifacts.ReadArtifactAsync(artifacts.PathOf(a.Uri), a.ContentHash, async (reader, token) =>
            {
                using var text = new StreamReader(reader.OpenFile(reader.Files.Single()));
                return await text.ReadToEndAsync(token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StrataException or IOException or InvalidOperationException)
        {
            return $"(cannot be read: {e.Message})";
        }
    }

    // ---- stacks ----

    private async Task StacksAsync(HttpContext context)
    {
        var client = await ClientAsync(context).ConfigureAwait(false);
        var ct = context.RequestAborted;
        // Read the active stack's name without GetActiveStackAsync, which creates the default stack in a new store: the dashboard only reads.
        var active = await client.Store.GetSettingAsync("active_stack", ct).ConfigureAwait(false) ?? StackManager.DefaultStack;
        var stacks = await client.Store.ListStacksAsync(ct).ConfigureAwait(false);
        var components = (await client.Store.ListComponentsAsync(null, ct).ConfigureAwait(false))
            .ToDictionary(c => (c.Type, c.Name));
        var h = new Html().Raw("<h1>Stacks</h1>");
        if (stacks.Count == 0) h.Raw("<p class=\"muted\">No stacks yet.</p>");
        foreach (var stack in stacks.OrderByDescending(s => s.Name == active).ThenBy(s => s.Name, StringComparer.Ordinal))
        {
            h.Raw("<section class=\"stack\"").Attr("data-stack", stack.Name).Raw("><h2>").T(stack.Name);
            if (stack.Name == active) h.Raw(" <span class=\"badge active\">active</span>");
            h.Raw("</h2>").Table(null, "Type", "Name", "Flavor", "Config");
            foreach (var m in stack.Components.OrderBy(m => m.Type).ThenBy(m => m.Position))
            {
                components.TryGetValue((m.Type, m.Name), out var c);
                ComponentRow(h, client, m.Type, m.Name, c);
            }
            h.Raw("</tbody></table></section>");
        }
        h.Raw("<h2>Components</h2>").Table("components", "Type", "Name", "Flavor", "Config");
        foreach (var c in components.Values.OrderBy(c => c.Type).ThenBy(c => c.Name, StringComparer.Ordinal)) ComponentRow(h, client, c.Type, c.Name, c);
        h.Raw("</tbody></table>");
        await Page(context, client, "Stacks", "Stacks", h.ToString()).ConfigureAwait(false);
    }

    private static void ComponentRow(Html h, StrataClient client, ComponentType type, string name, ComponentRecord? c)
    {
        h.Raw("<tr").Attr("data-component", name).Raw("><td>").T(ComponentTypes.CliName(type)).Raw("</td><td>").T(name).Raw("</td><td>")
            .T(c?.Flavor ?? "(missing)").Raw("</td><td>");
        if (c is not null && c.Config.Count > 0)
        {
            h.Raw("<dl class=\"config\">");
            foreach (var (key, value) in client.Stacks.MaskedConfig(c).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                h.Raw("<dt>").T(key).Raw("</dt><dd").Attr("data-key", key).Raw(">").T(value).Raw("</dd>");
            h.Raw("</dl>");
        }
        h.Raw("</td></tr>");
    }
}

/// <summary>A run, step run or artifact the address names is not in the store.</summary>
internal sealed class NotFoundException(string message) : StrataException(message);
