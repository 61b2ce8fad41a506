using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using Polly;
using Polly.Retry;

namespace Strata.Kubernetes;

/// <summary>
/// The cluster the operator talks to, found as kubectl finds it (explicit kubeconfig, KUBECONFIG's files merged, ~/.kube/config,
/// or the pod's own service account), and a client whose calls are retried on throttling and transient server errors.
/// </summary>
internal static class KubernetesApi
{
    public static (IKubernetes Client, string Namespace, string Context) Connect(KubernetesStepOperatorConfig config, TimeProvider time)
    {
        KubernetesClientConfiguration settings;
        string context;
        if (config.Incluster)
        {
            if (!KubernetesClientConfiguration.IsInCluster())
                throw new StrataConfigException("incluster=true, but this process does not run in a Kubernetes pod (no service account token is " +
                    "mounted); register the operator with a kubeconfig context instead.");
            settings = KubernetesClientConfiguration.InClusterConfig();
            context = "in-cluster";
        }
        else
        {
            var files = KubeconfigFiles(config.Kubeconfig);
            List<K8SConfiguration> loaded;
            try
            {
                loaded = files.Select(f => KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(f), useRelativePaths: true)).ToList();
            }
            catch (Exception e) when (e is KubeConfigException or IOException or YamlDotNet.Core.YamlException)
            {
                throw new StrataConfigException($"The kubeconfig {string.Join(':', files)} cannot be read: {e.Message}", e);
            }
            // As kubectl merges KUBECONFIG's files: the first file that sets the current context decides it, and a context is taken
            // from the first file that has it.
            context = config.KubernetesContext is { Length: > 0 } named ? named
                : loaded.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)) ?? "";
            var contexts = loaded.SelectMany(c => c.Contexts ?? []).Select(c => c.Name).Distinct().ToArray();
            var file = loaded.FirstOrDefault(c => c.Contexts?.Any(x => x.Name == context) == true)
                ?? throw new StrataConfigException(context.Length == 0
                    ? $"The kubeconfig {string.Join(':', files)} has no current context: set kubernetes_context to one of {string.Join(", ", contexts)}."
                    : $"The kubeconfig {string.Join(':', files)} has no context '{context}'; it has {string.Join(", ", contexts)}.");
            try
            {
                settings = KubernetesClientConfiguration.BuildConfigFromConfigObject(file, context);
            }
            catch (KubeConfigException e)
            {
                throw new StrataConfigException($"Context '{context}' of the kubeconfig cannot be used: {e.Message}", e);
            }
        }
        var ns = config.KubernetesNamespace is { Length: > 0 } given ? given : settings.Namespace is { Length: > 0 } fromContext ? fromContext : "default";
        return (new k8s.Kubernetes(settings, new RetryHandler(time)), ns, context);
    }

    /// <summary>The kubeconfig files kubectl would read.</summary>
    private static string[] KubeconfigFiles(string? explicitPath)
    {
        if (explicitPath is { Length: > 0 })
            return File.Exists(explicitPath) ? [explicitPath] : throw new StrataConfigException($"kubeconfig {explicitPath} does not exist.");
        if (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } list)
        {
            var existing = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).ToArray();
            return existing.Length > 0 ? existing : throw new StrataConfigException($"None of the kubeconfig files KUBECONFIG names exists ({list}).");
        }
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) ? [home] : throw new StrataConfigException(
            $"No kubeconfig: {home} does not exist and KUBECONFIG is not set. Set kubeconfig or KUBECONFIG, or incluster=true inside a cluster.");
    }

    /// <summary>The API server's message for a refused call (its Status object's message), else the HTTP status.</summary>
    public static string Message(HttpOperationException e)
    {
        var body = e.Response?.Content;
        if (!string.IsNullOrEmpty(body))
        {
            try
            {
                var status = KubernetesJson.Deserialize<k8s.Models.V1Status>(body);
                if (status?.Message is { Length: > 0 } message) return $"{status.Reason}: {message}";
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        return $"{(int?)e.Response?.StatusCode} {e.Response?.ReasonPhrase}".Trim();
    }

    public static bool IsNotFound(HttpOperationException e) => e.Response?.StatusCode == HttpStatusCode.NotFound;

    /// <summary>
    /// Retries 429 (after its Retry-After), 500, 502, 503, 504 and failed connections, with backoff on the operator's clock. A create
    /// that took effect before its answer was lost comes back 409 AlreadyExists, which the operator takes as its own.
    /// </summary>
    private sealed class RetryHandler(TimeProvider time) : DelegatingHandler
    {
        private readonly ResiliencePipeline<HttpResponseMessage> _retry = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .HandleResult(r => r.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
                        or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout),
                MaxRetryAttempts = 6,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.Headers.RetryAfter?.Delta is { } after ? after : (TimeSpan?)null),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _retry.ExecuteAsync(async ct => await base.SendAsync(request, ct).ConfigureAwait(false), cancellationToken).AsTask();
    }
}
