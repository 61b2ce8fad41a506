using System.Globalization;
using System.Net;
using System.Text;

namespace Strata.Dashboard;

/// <summary>
/// Builds a page's HTML. Text goes through <see cref="T"/> (escaped) and attribute values through <see cref="Attr"/>; only the page's
/// own markup is written raw, so nothing a step, a log or a config holds can become markup.
/// </summary>
internal sealed class Html
{
    private readonly StringBuilder _b = new();

    /// <summary>Markup of the page's own (never user data).</summary>
    public Html Raw(string markup)
    {
        _b.Append(markup);
        return this;
    }

    /// <summary>Text, escaped.</summary>
    public Html T(string? text)
    {
        _b.Append(Escape(text));
        return this;
    }

    /// <summary>An attribute <c> name="value"</c>, the value escaped; nothing when the value is null.</summary>
    public Html Attr(string name, string? value)
    {
        if (value is null) return this;
        _b.Append(' ').Append(name).Append("=\"").Append(Escape(value)).Append('"');
        return this;
    }

    /// <summary>A link to a page of the dashboard with escaped text.</summary>
    public Html Link(string href, string? text, string? cssClass = null)
    {
        Raw("<a").Attr("href", href);
        if (cssClass is not null) Attr("class", cssClass);
        return Raw(">").T(text).Raw("</a>");
    }

    /// <summary>A table's opening with its column headers, and the start of its body.</summary>
    public Html Table(string? cssClass, params string[] columns)
    {
        Raw("<table");
        if (cssClass is not null) Attr("class", cssClass);
        Raw("><thead><tr>");
        foreach (var c in columns) Raw("<th scope=\"col\">").T(c).Raw("</th>");
        return Raw("</tr></thead><tbody>");
    }

    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A path segment, escaped for a URL.</summary>
    public static string Seg(string value) => Uri.EscapeDataString(value);

    public override string ToString() => _b.ToString();

    public static string Status(ExecutionStatus status) => status.ToString().ToLowerInvariant();

    public Html Badge(ExecutionStatus status, string? id = null)
    {
        Raw("<span");
        if (id is not null) Attr("id", id);
        return Attr("class", "badge status-" + Status(status)).Raw(">").T(Status(status)).Raw("</span>");
    }

    public static string Time(DateTimeOffset? t) => t?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end, TimeProvider time)
    {
        if (start is null) return "";
        var d = (end ?? time.GetUtcNow()) - start.Value;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalSeconds < 60 ? d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s"
            : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes} min {d.Seconds} s"
            : $"{(int)d.TotalHours} h {d.Minutes} min";
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    public static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A whole page: header with the main navigation, the body, the shipped script and style.</summary>
    public static string Page(string title, string active, string storeLocation, string body)
    {
        var h = new Html();
        h.Raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Raw("<title>").T(title).Raw(" · Strata</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\">");
        h.Raw("<script src=\"/static/dashboard.js\" defer></script></head><body>");
        h.Raw("<a class=\"skip\" href=\"#main\">Skip to content</a><header><a class=\"brand\" href=\"/runs\">Strata</a><nav aria-label=\"Main\">");
        foreach (var (href, name) in new[] { ("/runs", "Runs"), ("/artifacts", "Artifacts"), ("/stacks", "Stacks") })
        {
            h.Raw("<a").Attr("href", href);
            if (name == active) h.Attr("aria-current", "page");
            h.Raw(">").T(name).Raw("</a>");
        }
        h.Raw("</nav><span class=\"store\" title=\"The store this dashboard reads\">").T(storeLocation).Raw("</span></header>");
        h.Raw("<main id=\"main\">").Raw(body).Raw("</main></body></html>");
        return h.ToString();
    }
}
