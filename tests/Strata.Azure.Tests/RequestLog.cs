using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Strata.Azure.Tests;

/// <summary>Every request the store's client sends (each retry too): method, URL and the range it asked for.</summary>
public sealed class RequestLog : HttpPipelineSynchronousPolicy
{
    public ConcurrentQueue<(string Method, Uri Uri, string? Range)> Requests { get; } = new();

    public override void OnSendingRequest(HttpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var range = message.Request.Headers.TryGetValue("x-ms-range", out var r) || message.Request.Headers.TryGetValue("Range", out r) ? r : null;
        Requests.Enqueue((message.Request.Method.ToString(), message.Request.Uri.ToUri(), range));
    }
}
