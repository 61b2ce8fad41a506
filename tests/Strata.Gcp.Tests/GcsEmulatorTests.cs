using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Gcp.Tests;

/// <summary>The emulator's JSON API at the HTTP level: what the clients rely on, request by request.</summary>
[Collection(GcsCollection.Name)]
public sealed class GcsEmulatorTests(GcsServer server) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server.Emulator.Endpoint };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task A_resumable_upload_takes_gzip_chunks_answers_status_queries_and_finishes_with_the_object()
    {
        var bucket = server.NewBucket();
        var data = Enumerable.Range(0, 600_000).Select(i => (byte)(i * 7)).ToArray();
        using var start = await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=r%2Fdata.bin",
            new StringContent("""{"metadata":{"k":"v"}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, start.StatusCode);
        var session = start.Headers.Location!;

        using var first = await PutChunkAsync(session, data, 0, 262_144, "*", gzip: true);
        Assert.Equal(308, (int)first.StatusCode);
        Assert.Equal("bytes=0-262143", first.Headers.GetValues("Range").Single());
        using var query = await PutChunkAsync(session, data, 0, 0, data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), gzip: false);
        Assert.Equal(308, (int)query.StatusCode);
        using var last = await PutChunkAsync(session, data, 262_144, data.Length - 262_144, data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), gzip: true);
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);

        var json = JsonNode.Parse(await last.Content.ReadAsStringAsync())!;
        Assert.Equal("r/data.bin", (string?)json["name"]);
        Assert.Equal("600000", (string?)json["size"]);
        Assert.Equal("v", (string?)json["metadata"]!["k"]);
        Assert.Equal(data, server.Emulator.ObjectContent(bucket, "r/data.bin"));
    }

    private async Task<HttpResponseMessage> PutChunkAsync(Uri session, byte[] data, int offset, int count, string total, bool gzip)
    {
        byte[] body = data.AsSpan(offset, count).ToArray();
        if (gzip)
        {
            using var buffer = new MemoryStream();
            await using (var z = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) await z.WriteAsync(body);
            body = buffer.ToArray();
        }
        var content = new ByteArrayContent(body);
        content.Headers.ContentRange = count == 0
            ? ContentRangeHeaderValue.Parse($"bytes */{total}")
            : ContentRangeHeaderValue.Parse($"bytes {offset}-{offset + count - 1}/{total}");
        if (gzip) content.Headers.ContentEncoding.Add("gzip");
        return await _http.PutAsync(session, content);
    }

    [Fact]
    public async Task If_generation_match_zero_refuses_an_existing_object_with_412_in_googles_error_shape()
    {
        var bucket = server.NewBucket();
        using var created = await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name=a&ifGenerationMatch=0", new ByteArrayContent([1]));
        using var again = await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name=a&ifGenerationMatch=0", new ByteArrayContent([2]));
        using var missing = await _http.GetAsync($"storage/v1/b/{bucket}/o/nope");

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, again.StatusCode);
        var error = JsonNode.Parse(await again.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(412, (int)error["code"]!);
        Assert.Equal("conditionNotMet", (string?)error["errors"]![0]!["reason"]);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("notFound", (string?)JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["error"]!["errors"]![0]!["reason"]);
        Assert.Equal([1], server.Emulator.ObjectContent(bucket, "a"));
    }

    [Fact]
    public async Task Listing_pages_through_objects_and_common_prefixes()
    {
        var bucket = server.NewBucket();
        foreach (var name in new[] { "a/1", "a/2", "b", "c/x/y", "d" })
            (await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name={Uri.EscapeDataString(name)}", new ByteArrayContent([0]))).Dispose();

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = JsonNode.Parse(await _http.GetStringAsync(
                $"storage/v1/b/{bucket}/o?delimiter=%2F&maxResults=2{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}"))!;
            seen.AddRange(((JsonArray?)page["items"] ?? []).Select(i => (string)i!["name"]!));
            seen.AddRange(((JsonArray?)page["prefixes"] ?? []).Select(p => (string)p!));
            token = (string?)page["nextPageToken"];
        }
        while (token is not null);

        Assert.Equal(["a/", "b", "c/", "d"], seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_ranged_download_returns_206_with_the_range_and_the_whole_objects_hashes()
    {
        var bucket = server.NewBucket();
        (await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name=r", new ByteArrayContent("0123456789"u8.ToArray()))).Dispose();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"storage/v1/b/{bucket}/o/r?alt=media");
        request.Headers.Range = new RangeHeaderValue(2, 5);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("2345", await response.Content.ReadAsStringAsync());
        Assert.Equal("bytes 2-5/10", response.Content.Headers.ContentRange!.ToString());
        Assert.StartsWith("crc32c=", response.Headers.GetValues("x-goog-hash").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compose_concatenates_its_sources()
    {
        var bucket = server.NewBucket();
        (await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name=p1", new ByteArrayContent("ab"u8.ToArray()))).Dispose();
        (await _http.PostAsync($"upload/storage/v1/b/{bucket}/o?uploadType=media&name=p2", new ByteArrayContent("cd"u8.ToArray()))).Dispose();

        using var response = await _http.PostAsync($"storage/v1/b/{bucket}/o/whole/compose", new StringContent(
            JsonSerializer.Serialize(new { sourceObjects = new[] { new { name = "p1" }, new { name = "p2" } } }), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("abcd"u8.ToArray(), server.Emulator.ObjectContent(bucket, "whole"));
    }
}
