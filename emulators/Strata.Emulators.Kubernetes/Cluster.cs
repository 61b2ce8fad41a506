using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Strata.Emulators.Kubernetes;

/// <summary>
/// The controllers behind the API: the Job controller (one pod per attempt, backoffLimit, activeDeadlineSeconds,
/// ttlSecondsAfterFinished, conditions), a one-node scheduler with a configured capacity, and a kubelet that runs each
/// pod with <c>podman kube play</c> and reads its state, exit codes and logs back from podman.
/// </summary>
internal sealed class Cluster(KubernetesEmulatorOptions options, ObjectStore store, string workDirectory, CancellationToken stopping)
{
    private static readonly ResourceType PodType = KubernetesEmulator.Types.Single(t => t.Name == "pods");
    private readonly ConcurrentDictionary<(string Ns, string Name), PodRun> _pods = new();
    private readonly ConcurrentDictionary<(string Ns, string Name), CancellationTokenSource> _jobs = new();
    private readonly Dictionary<(string Ns, string Name), Dictionary<string, decimal>> _bound = [];
    private readonly List<Task> _background = [];

    private sealed record PodRun(CancellationTokenSource Cancel, TaskCompletionSource<string> Phase)
    {
        public Task? Task { get; set; }
    }

    public IReadOnlyCollection<string> PodmanPods => _pods.Keys.Select(k => k.Name).ToArray();

    // ---- admission: defaults and the validation a real API server adds to the schema ----

    public static IEnumerable<(string Reason, string Message, string Field)> Validate(ResourceType type, JsonObject obj)
    {
        switch (type.Name)
        {
            case "jobs":
                var spec = obj["spec"]?["template"]?["spec"] as JsonObject;
                foreach (var c in PodSpecCauses(spec, "spec.template.spec")) yield return c;
                var restart = (string?)spec?["restartPolicy"];
                if (spec is not null && restart is not ("Never" or "OnFailure"))
                    yield return restart is null
                        ? ("FieldValueRequired", "Required value: valid values: \"OnFailure\", \"Never\"", "spec.template.spec.restartPolicy")
                        : ("FieldValueNotSupported", $"Unsupported value: \"{restart}\": supported values: \"OnFailure\", \"Never\"", "spec.template.spec.restartPolicy");
                if ((int?)obj["spec"]?["backoffLimit"] is < 0)
                    yield return ("FieldValueInvalid", $"Invalid value: {(int?)obj["spec"]?["backoffLimit"]}: must be greater than or equal to 0", "spec.backoffLimit");
                break;
            case "pods":
                foreach (var c in PodSpecCauses(obj["spec"] as JsonObject, "spec")) yield return c;
                break;
            case "secrets":
                foreach (var (key, value) in obj["data"] as JsonObject ?? [])
                {
                    var ok = value is JsonValue v && v.TryGetValue<string>(out var s) && IsBase64(s);
                    if (!ok) yield return ("FieldValueInvalid", $"Invalid value: \"{key}\": illegal base64 data", $"data[{key}]");
                }
                break;
        }
    }

    private static bool IsBase64(string s)
    {
        var buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out _);
    }

    private static IEnumerable<(string, string, string)> PodSpecCauses(JsonObject? spec, string path)
    {
        if (spec?["containers"] is not JsonArray containers) yield break;
        if (containers.Count == 0) yield return ("FieldValueRequired", "Required value", $"{path}.containers");
        for (var i = 0; i < containers.Count; i++)
        {
            if (string.IsNullOrEmpty((string?)containers[i]?["image"]))
                yield return ("FieldValueRequired", "Required value", $"{path}.containers[{i}].image");
            foreach (var (resource, limit) in containers[i]?["resources"]?["limits"] as JsonObject ?? [])
                if (containers[i]?["resources"]?["requests"]?[resource] is { } request && Quantity.TryParse(request.ToString(), out var r) && Quantity.TryParse(limit?.ToString(), out var l) && r > l)
                    yield return ("FieldValueInvalid", $"Invalid value: \"{request}\": must be less than or equal to {resource} limit of {limit}", $"{path}.containers[{i}].resources.requests");
        }
    }

    public static void Default(ResourceType type, JsonObject obj)
    {
        switch (type.Name)
        {
            case "jobs":
                var uid = (string)obj["metadata"]!["uid"]!;
                var name = (string)obj["metadata"]!["name"]!;
                var spec = (JsonObject)obj["spec"]!;
                obj["metadata"]!["generation"] = 1;
                var labels = (obj["metadata"]!["labels"] as JsonObject) ?? new JsonObject();
                obj["metadata"]!["labels"] = labels;
                spec["parallelism"] ??= 1;
                spec["completions"] ??= 1;
                spec["backoffLimit"] ??= 6;
                spec["completionMode"] ??= "NonIndexed";
                spec["suspend"] ??= false;
                spec["manualSelector"] ??= false;
                spec["selector"] ??= new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = uid } };
                var template = (JsonObject)spec["template"]!;
                var meta = template["metadata"] as JsonObject ?? new JsonObject();
                template["metadata"] = meta;
                var podLabels = meta["labels"] as JsonObject ?? new JsonObject();
                meta["labels"] = podLabels;
                foreach (var (k, v) in new[] { ("batch.kubernetes.io/controller-uid", uid), ("batch.kubernetes.io/job-name", name), ("controller-uid", uid), ("job-name", name) })
                {
                    podLabels[k] ??= v;
                    if (k != "batch.kubernetes.io/job-name" || labels[k] is null) labels[k] ??= v;
                }
                DefaultPodSpec((JsonObject)template["spec"]!);
                obj["status"] = new JsonObject();
                break;
            case "pods":
                DefaultPodSpec((JsonObject)obj["spec"]!);
                obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = "BestEffort" };
                break;
            case "secrets":
                var data = obj["data"] as JsonObject ?? new JsonObject();
                foreach (var (k, v) in obj["stringData"] as JsonObject ?? [])
                    data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(v?.ToString() ?? ""));
                obj.Remove("stringData");
                if (data.Count > 0) obj["data"] = data;
                obj["type"] ??= "Opaque";
                break;
        }
    }

    private static void DefaultPodSpec(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["securityContext"] ??= new JsonObject();
        foreach (var c in spec["containers"] as JsonArray ?? [])
        {
            if (c is not JsonObject container) continue;
            var image = (string?)container["image"] ?? "";
            container["imagePullPolicy"] ??= image.EndsWith(":latest", StringComparison.Ordinal) || !image.Contains(':', StringComparison.Ordinal) ? "Always" : "IfNotPresent";
            container["terminationMessagePath"] ??= "/dev/termination-log";
            container["terminationMessagePolicy"] ??= "File";
            container["resources"] ??= new JsonObject();
        }
    }

    // ---- controllers ----

    public void Created(ResourceType type, JsonObject obj)
    {
        var ns = (string?)obj["metadata"]!["namespace"] ?? "";
        var name = (string)obj["metadata"]!["name"]!;
        if (type.Name == "jobs")
        {
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            _jobs[(ns, name)] = cancel;
            Track(RunJobAsync(ns, name, cancel.Token));
        }
        else if (type.Name == "pods")
        {
            StartPod(ns, name);
        }
    }

    private void Track(Task task)
    {
        lock (_background)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }

    private PodRun StartPod(string ns, string name)
    {
        var run = new PodRun(CancellationTokenSource.CreateLinkedTokenSource(stopping), new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pods[(ns, name)] = run;
        run.Task = RunPodAsync(ns, name, run);
        Track(run.Task);
        return run;
    }

    private async Task RunJobAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            var job = store.Get("jobs", ns, name);
            if (job is null) return;
            var backoffLimit = (int?)job["spec"]?["backoffLimit"] ?? 6;
            var deadline = (long?)job["spec"]?["activeDeadlineSeconds"] is { } seconds ? DateTime.UtcNow.AddSeconds(seconds) : (DateTime?)null;
            store.Update("jobs", ns, name, j => { j["status"]!["startTime"] = KubernetesEmulator.Now(); j["status"]!["active"] = 0; j["status"]!["ready"] = 0; j["status"]!["uncountedTerminatedPods"] = new JsonObject(); });
            var failed = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var podName = $"{name}-{KubernetesEmulator.RandomSuffix()}";
                var pod = PodFor(job, podName);
                if (!store.TryAdd("pods", ns, pod, out _)) continue;
                store.Update("jobs", ns, name, j => j["status"]!["active"] = 1);
                var run = StartPod(ns, podName);
                var phaseTask = run.Phase.Task;
                string phase;
                if (deadline is { } at)
                {
                    var remaining = at - DateTime.UtcNow;
                    var finished = await Task.WhenAny(phaseTask, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, ct));
                    if (finished != phaseTask)
                    {
                        await DeletePodAsync(ns, podName);
                        Finish(ns, name, false, "DeadlineExceeded", "Job was active longer than specified deadline", failed + 1);
                        break;
                    }
                }
                try
                {
                    phase = await phaseTask.WaitAsync(ct);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    phase = "Failed"; // its pod was deleted before it finished: a failure, as the Job controller counts it
                }
                if (phase == "Succeeded")
                {
                    Finish(ns, name, true, "CompletionsReached", "Reached expected number of succeeded pods", failed);
                    break;
                }
                failed++;
                if (failed > backoffLimit)
                {
                    Finish(ns, name, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit", failed);
                    break;
                }
                store.Update("jobs", ns, name, j => { j["status"]!["failed"] = failed; j["status"]!["active"] = 0; j["status"]!["ready"] = 0; });
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, failed)), ct);
            }
            if ((int?)job["spec"]?["ttlSecondsAfterFinished"] is { } ttl)
            {
                await Task.Delay(TimeSpan.FromSeconds(ttl), ct);
                await DeleteAsync(KubernetesEmulator.Types.Single(t => t.Name == "jobs"), ns, name, "Background");
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            // A controller bug must show, not leave the Job silently stuck.
            Finish(ns, name, false, "EmulatorError", e.ToString(), 0);
        }
    }

    private void Finish(string ns, string name, bool succeeded, string reason, string message, int failed)
    {
        var now = KubernetesEmulator.Now();
        store.Update("jobs", ns, name, j =>
        {
            var status = (JsonObject)j["status"]!;
            status["active"] = 0;
            status["ready"] = 0;
            if (succeeded) { status["succeeded"] = 1; status["completionTime"] = now; }
            if (failed > 0) status["failed"] = failed;
            JsonObject Condition(string type) => new()
            {
                ["type"] = type,
                ["status"] = "True",
                ["lastProbeTime"] = now,
                ["lastTransitionTime"] = now,
                ["reason"] = reason,
                ["message"] = message,
            };
            status["conditions"] = succeeded
                ? new JsonArray(Condition("Complete"))
                : new JsonArray(Condition("FailureTarget"), Condition("Failed"));
        });
    }

    private static JsonObject PodFor(JsonObject job, string podName)
    {
        var template = (JsonObject)job["spec"]!["template"]!.DeepClone();
        var meta = (JsonObject)template["metadata"]!.DeepClone();
        meta.Remove("creationTimestamp");
        meta["name"] = podName;
        meta["generateName"] = (string)job["metadata"]!["name"]! + "-";
        meta["namespace"] = job["metadata"]!["namespace"]!.DeepClone();
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = KubernetesEmulator.Now();
        meta["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["name"] = job["metadata"]!["name"]!.DeepClone(),
            ["uid"] = job["metadata"]!["uid"]!.DeepClone(),
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        });
        return new JsonObject
        {
            ["kind"] = "Pod",
            ["apiVersion"] = "v1",
            ["metadata"] = meta,
            ["spec"] = template["spec"]!.DeepClone(),
            ["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = "BestEffort" },
        };
    }

    // ---- scheduler and kubelet ----

    private static Dictionary<string, decimal> Requests(JsonObject pod)
    {
        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var c in pod["spec"]?["containers"] as JsonArray ?? [])
        {
            var resources = c?["resources"];
            var names = ((resources?["requests"] as JsonObject)?.Select(p => p.Key) ?? []).Union((resources?["limits"] as JsonObject)?.Select(p => p.Key) ?? []);
            foreach (var n in names)
            {
                var text = (resources?["requests"]?[n] ?? resources?["limits"]?[n])?.ToString();
                if (Quantity.TryParse(text, out var q)) total[n] = total.GetValueOrDefault(n) + q;
            }
        }
        return total;
    }

    /// <summary>Reserves the pod's requests on the node, or says which resources do not fit.</summary>
    private List<string> TryBind(string ns, string name, Dictionary<string, decimal> requests)
    {
        lock (_bound)
        {
            var missing = new List<string>();
            foreach (var (resource, amount) in requests.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                if (amount <= 0) continue;
                var capacity = options.NodeCapacity.TryGetValue(resource, out var c) && Quantity.TryParse(c, out var q) ? q : 0;
                var used = _bound.Values.Sum(b => b.GetValueOrDefault(resource));
                if (used + amount > capacity) missing.Add($"Insufficient {resource}");
            }
            if (Quantity.TryParse(options.NodeCapacity.GetValueOrDefault("pods", "110"), out var pods) && _bound.Count + 1 > pods) missing.Add("Too many pods");
            if (missing.Count == 0) _bound[(ns, name)] = requests;
            return missing;
        }
    }

    private void Release(string ns, string name)
    {
        lock (_bound) _bound.Remove((ns, name));
    }

    private JsonObject? UpdatePod(string ns, string name, Action<JsonObject> status) =>
        store.Update("pods", ns, name, p => status((JsonObject)p["status"]!));

    private static JsonObject Condition(string type, string status, string? reason = null, string? message = null)
    {
        var c = new JsonObject { ["type"] = type, ["status"] = status, ["lastProbeTime"] = null, ["lastTransitionTime"] = KubernetesEmulator.Now() };
        if (reason is not null) c["reason"] = reason;
        if (message is not null) c["message"] = message;
        return c;
    }

    private static JsonArray Waiting(JsonObject pod, string reason, string? message = null)
    {
        var statuses = new JsonArray();
        foreach (var c in pod["spec"]!["containers"] as JsonArray ?? [])
        {
            var waiting = new JsonObject { ["reason"] = reason };
            if (message is not null) waiting["message"] = message;
            statuses.Add(new JsonObject
            {
                ["name"] = c!["name"]!.DeepClone(),
                ["state"] = new JsonObject { ["waiting"] = waiting },
                ["lastState"] = new JsonObject(),
                ["ready"] = false,
                ["restartCount"] = 0,
                ["image"] = c["image"]!.DeepClone(),
                ["imageID"] = "",
                ["started"] = false,
            });
        }
        return statuses;
    }

    private async Task RunPodAsync(string ns, string name, PodRun run)
    {
        var ct = run.Cancel.Token;
        var played = false;
        try
        {
            var pod = store.Get("pods", ns, name) ?? throw new OperationCanceledException();
            var requests = Requests(pod);
            while (true)
            {
                var missing = TryBind(ns, name, requests);
                if (missing.Count == 0) break;
                var message = $"0/1 nodes are available: {string.Join(", ", missing.Select(m => "1 " + m))}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
                UpdatePod(ns, name, s => s["conditions"] = new JsonArray(Condition("PodScheduled", "False", "Unschedulable", message)));
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            store.Update("pods", ns, name, p =>
            {
                p["spec"]!["nodeName"] = options.NodeName;
                var s = (JsonObject)p["status"]!;
                s["hostIP"] = "127.0.0.1";
                s["startTime"] = KubernetesEmulator.Now();
                s["conditions"] = new JsonArray(Condition("Initialized", "True"),
                    Condition("Ready", "False", "ContainersNotReady", "containers with unready status: [" + string.Join(" ", ContainerNames(p)) + "]"),
                    Condition("ContainersReady", "False", "ContainersNotReady"), Condition("PodScheduled", "True"));
                s["containerStatuses"] = Waiting(p, "ContainerCreating");
            });

            var backoff = options.ImagePullBackOff;
            while (true)
            {
                pod = store.Get("pods", ns, name) ?? throw new OperationCanceledException();
                var (manifest, configError) = PodmanManifest(pod);
                if (configError is not null)
                {
                    UpdatePod(ns, name, s => s["containerStatuses"] = Waiting(pod, "CreateContainerConfigError", configError));
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                    continue;
                }
                var file = Path.Combine(workDirectory, $"pod-{ns}-{name}.json");
                await File.WriteAllTextAsync(file, manifest!.ToJsonString(), CancellationToken.None);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                played = true;
                var (code, output) = await PodmanAsync(["kube", "play", .. options.PodmanPlayArguments, file], CancellationToken.None);
                File.Delete(file); // it holds the secret values the env resolved
                if (code == 0) break;
                await PodmanAsync(["pod", "rm", "-f", "-t", "0", name], CancellationToken.None);
                var pull = output.Contains("pull", StringComparison.OrdinalIgnoreCase) || output.Contains("initializing source", StringComparison.Ordinal)
                    || output.Contains("manifest unknown", StringComparison.Ordinal) || output.Contains("image not known", StringComparison.Ordinal);
                var error = output.Split('\n').LastOrDefault(l => l.StartsWith("Error:", StringComparison.Ordinal))?.Trim() ?? output.Trim();
                var image = (string?)pod["spec"]!["containers"]![0]!["image"];
                if (!pull)
                {
                    UpdatePod(ns, name, s => s["containerStatuses"] = Waiting(pod, "CreateContainerError", error));
                    await Task.Delay(backoff, ct);
                    continue;
                }
                UpdatePod(ns, name, s => s["containerStatuses"] = Waiting(pod, "ErrImagePull", $"failed to pull and unpack image \"{image}\": {error}"));
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                UpdatePod(ns, name, s => s["containerStatuses"] = Waiting(pod, "ImagePullBackOff", $"Back-off pulling image \"{image}\": ErrImagePull: {error}"));
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
            }

            while (true)
            {
                pod = store.Get("pods", ns, name) ?? throw new OperationCanceledException();
                var names = ContainerNames(pod);
                var (code, output) = await PodmanAsync(["inspect", "--type", "container", "--format", "json", .. names.Select(c => $"{name}-{c}")], ct);
                if (code == 0 && JsonNode.Parse(output) is JsonArray inspected)
                {
                    var phase = Observe(ns, name, pod, inspected);
                    if (phase is "Succeeded" or "Failed")
                    {
                        Release(ns, name);
                        run.Phase.TrySetResult(phase);
                        return;
                    }
                }
                await Task.Delay(options.PollInterval, ct);
            }
        }
        catch (OperationCanceledException)
        {
            run.Phase.TrySetCanceled();
        }
        catch (Exception e)
        {
            UpdatePod(ns, name, s => { s["phase"] = "Failed"; s["reason"] = "EmulatorError"; s["message"] = e.Message; });
            run.Phase.TrySetResult("Failed");
        }
        finally
        {
            Release(ns, name);
            if (played && ct.IsCancellationRequested)
                await PodmanAsync(["pod", "rm", "-f", "-t", "0", name], CancellationToken.None);
        }
    }

    private static List<string> ContainerNames(JsonObject pod) =>
        (pod["spec"]!["containers"] as JsonArray ?? []).Select(c => (string)c!["name"]!).ToList();

    /// <summary>Turns podman's view of the containers into the pod's status; returns the phase.</summary>
    private string Observe(string ns, string name, JsonObject pod, JsonArray inspected)
    {
        var statuses = new JsonArray();
        var names = ContainerNames(pod);
        int running = 0, succeeded = 0, failed = 0;
        for (var i = 0; i < names.Count; i++)
        {
            var state = inspected.Count > i ? inspected[i]?["State"] : null;
            var podmanStatus = (string?)state?["Status"] ?? "created";
            var id = (string?)inspected[i]?["Id"] ?? "";
            JsonObject k8sState;
            var ready = false;
            if (podmanStatus is "running" or "paused")
            {
                running++;
                ready = true;
                k8sState = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time((string?)state?["StartedAt"]) } };
            }
            else if (podmanStatus is "exited" or "stopped")
            {
                var exit = (int?)state?["ExitCode"] ?? 0;
                if (exit == 0) succeeded++; else failed++;
                k8sState = new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = exit,
                        ["reason"] = exit == 0 ? "Completed" : (bool?)state?["OOMKilled"] == true ? "OOMKilled" : "Error",
                        ["startedAt"] = Time((string?)state?["StartedAt"]),
                        ["finishedAt"] = Time((string?)state?["FinishedAt"]),
                        ["containerID"] = "podman://" + id,
                    },
                };
            }
            else
            {
                k8sState = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } };
            }
            var container = (JsonObject)pod["spec"]!["containers"]![i]!;
            var status = new JsonObject
            {
                ["name"] = names[i],
                ["state"] = k8sState,
                ["lastState"] = new JsonObject(),
                ["ready"] = ready,
                ["restartCount"] = 0,
                ["image"] = container["image"]!.DeepClone(),
                ["imageID"] = (string?)inspected[i]?["Image"] ?? "",
                ["started"] = ready,
            };
            if (id.Length > 0) status["containerID"] = "podman://" + id;
            statuses.Add(status);
        }
        var phase = running > 0 ? "Running"
            : succeeded + failed == names.Count ? (failed > 0 ? "Failed" : "Succeeded")
            : succeeded + failed > 0 ? "Running" : "Pending";
        UpdatePod(ns, name, s =>
        {
            s["phase"] = phase;
            s["podIP"] = "127.0.0.1";
            s["podIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" });
            s["containerStatuses"] = statuses;
            var allReady = running == names.Count;
            var reason = phase is "Succeeded" or "Failed" ? "PodCompleted" : "ContainersNotReady";
            s["conditions"] = new JsonArray(
                Condition("Initialized", "True", phase is "Succeeded" or "Failed" ? "PodCompleted" : null),
                allReady ? Condition("Ready", "True") : Condition("Ready", "False", reason),
                allReady ? Condition("ContainersReady", "True") : Condition("ContainersReady", "False", reason),
                Condition("PodScheduled", "True"));
        });
        return phase;
    }

    private static string? Time(string? podmanTime) =>
        DateTime.TryParse(podmanTime, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var t) && t.Year > 1
            ? t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : null;

    /// <summary>The Pod podman runs: the containers with their env resolved (secretKeyRef, fieldRef), no scheduling fields.</summary>
    private (JsonObject? Manifest, string? Error) PodmanManifest(JsonObject pod)
    {
        var ns = (string)pod["metadata"]!["namespace"]!;
        var name = (string)pod["metadata"]!["name"]!;
        var containers = new JsonArray();
        foreach (var c in pod["spec"]!["containers"] as JsonArray ?? [])
        {
            var container = new JsonObject { ["name"] = c!["name"]!.DeepClone(), ["image"] = c["image"]!.DeepClone() };
            foreach (var key in new[] { "command", "args", "workingDir", "volumeMounts", "imagePullPolicy", "stdin", "tty" })
                if (c[key] is { } value) container[key] = value.DeepClone();
            var env = new JsonArray();
            foreach (var source in c["envFrom"] as JsonArray ?? [])
            {
                if ((string?)source?["secretRef"]?["name"] is not { } secretName) return (null, "only envFrom.secretRef is supported here");
                var secret = store.Get("secrets", ns, secretName);
                if (secret is null)
                {
                    if ((bool?)source?["secretRef"]?["optional"] == true) continue;
                    return (null, $"secret \"{secretName}\" not found");
                }
                foreach (var (k, v) in secret["data"] as JsonObject ?? [])
                    env.Add(new JsonObject { ["name"] = ((string?)source?["prefix"] ?? "") + k, ["value"] = Encoding.UTF8.GetString(Convert.FromBase64String(v!.ToString())) });
            }
            foreach (var e in c["env"] as JsonArray ?? [])
            {
                var envName = (string)e!["name"]!;
                if (e["valueFrom"] is not JsonObject from)
                {
                    env.Add(new JsonObject { ["name"] = envName, ["value"] = (string?)e["value"] ?? "" });
                    continue;
                }
                if (from["secretKeyRef"] is JsonObject reference)
                {
                    var secretName = (string?)reference["name"] ?? "";
                    var key = (string?)reference["key"] ?? "";
                    var optional = (bool?)reference["optional"] == true;
                    var secret = store.Get("secrets", ns, secretName);
                    if (secret is null)
                    {
                        if (optional) continue;
                        return (null, $"secret \"{secretName}\" not found");
                    }
                    if (secret["data"]?[key] is not { } encoded)
                    {
                        if (optional) continue;
                        return (null, $"couldn't find key {key} in Secret {ns}/{secretName}");
                    }
                    env.Add(new JsonObject { ["name"] = envName, ["value"] = Encoding.UTF8.GetString(Convert.FromBase64String(encoded.ToString())) });
                }
                else if ((string?)from["fieldRef"]?["fieldPath"] is { } field)
                {
                    var value = field switch
                    {
                        "metadata.name" => name,
                        "metadata.namespace" => ns,
                        "metadata.uid" => (string?)pod["metadata"]!["uid"],
                        "spec.nodeName" => options.NodeName,
                        "status.podIP" or "status.hostIP" => "127.0.0.1",
                        _ => null,
                    };
                    if (value is null) return (null, $"unsupported fieldRef {field}");
                    env.Add(new JsonObject { ["name"] = envName, ["value"] = value });
                }
                else
                {
                    return (null, $"env {envName}: only secretKeyRef and fieldRef are supported here");
                }
            }
            if (env.Count > 0) container["env"] = env;
            containers.Add(container);
        }
        var spec = new JsonObject { ["restartPolicy"] = "Never", ["containers"] = containers };
        // Namespaces shared with the pod: podman does them as a kubelet does (with shareProcessNamespace, PID 1 is the pause process).
        foreach (var key in new[] { "shareProcessNamespace", "hostIPC" })
            if (pod["spec"]![key] is { } value) spec[key] = value.DeepClone();
        if (pod["spec"]!["volumes"] is JsonArray volumes)
            spec["volumes"] = new JsonArray(volumes.Where(v => v?["hostPath"] is not null || v?["emptyDir"] is not null).Select(v => v!.DeepClone()).ToArray());
        return (new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
        }, null);
    }

    private async Task<(int Code, string Output)> PodmanAsync(IEnumerable<string> args, CancellationToken ct)
    {
        var start = new ProcessStartInfo(options.PodmanCommand) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in options.PodmanEnvironment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(true); } catch (InvalidOperationException) { }
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    // ---- deletion ----

    /// <summary>Deletes an object with the propagation policy; the object when it is not gone yet (foreground), null when it is.</summary>
    public async Task<JsonObject?> DeleteAsync(ResourceType type, string ns, string name, string policy)
    {
        switch (type.Name)
        {
            case "pods":
                var marked = store.Update("pods", ns, name, p => { p["metadata"]!["deletionTimestamp"] = KubernetesEmulator.Now(); p["metadata"]!["deletionGracePeriodSeconds"] = 0; });
                await DeletePodAsync(ns, name);
                return marked;
            case "jobs":
                if (_jobs.TryRemove((ns, name), out var controller)) await controller.CancelAsync();
                var pods = store.List("pods", ns).Where(p => OwnedBy(p, ns, name)).Select(p => (string)p["metadata"]!["name"]!).ToList();
                if (policy == "Orphan")
                {
                    foreach (var p in pods)
                        store.Update("pods", ns, p, o => ((JsonObject)o["metadata"]!).Remove("ownerReferences"));
                    store.Remove("jobs", ns, name);
                    return null;
                }
                if (policy == "Background")
                {
                    store.Remove("jobs", ns, name);
                    Track(Task.Run(async () => { foreach (var p in pods) await DeletePodAsync(ns, p); }));
                    return null;
                }
                var job = store.Update("jobs", ns, name, j =>
                {
                    j["metadata"]!["deletionTimestamp"] = KubernetesEmulator.Now();
                    j["metadata"]!["deletionGracePeriodSeconds"] = 0;
                    j["metadata"]!["finalizers"] = new JsonArray("foregroundDeletion");
                });
                Track(Task.Run(async () =>
                {
                    foreach (var p in pods) await DeletePodAsync(ns, p);
                    store.Remove("jobs", ns, name);
                }));
                return job;
            case "namespaces":
                foreach (var t in KubernetesEmulator.Types.Where(t => t.Namespaced))
                    foreach (var o in store.List(t.Name, name))
                        await DeleteAsync(t, name, (string)o["metadata"]!["name"]!, "Background");
                store.Remove("namespaces", "", name);
                return null;
            default:
                store.Remove(type.Name, ns, name);
                return null;
        }
    }

    private static bool OwnedBy(JsonObject pod, string ns, string job) =>
        (string?)pod["metadata"]?["namespace"] == ns
        && (pod["metadata"]?["ownerReferences"] as JsonArray ?? []).Any(o => (string?)o?["kind"] == "Job" && (string?)o?["name"] == job);

    private async Task DeletePodAsync(string ns, string name)
    {
        if (_pods.TryRemove((ns, name), out var run))
        {
            await run.Cancel.CancelAsync();
            if (run.Task is { } task)
                try { await task; } catch (OperationCanceledException) { }
            await PodmanAsync(["pod", "rm", "-f", "-t", "0", name], CancellationToken.None);
        }
        store.Remove("pods", ns, name);
    }

    public async Task StopAllAsync()
    {
        foreach (var key in _pods.Keys.ToArray())
            await DeletePodAsync(key.Ns, key.Name);
        Task[] pending;
        lock (_background) pending = _background.ToArray();
        try { await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception) { }
    }

    // ---- logs ----

    public async Task<int> LogsAsync(HttpContext context, JsonObject pod, IQueryCollection query)
    {
        var ns = (string)pod["metadata"]!["namespace"]!;
        var name = (string)pod["metadata"]!["name"]!;
        var names = ContainerNames(pod);
        string container = query["container"].ToString();
        if (container.Length == 0)
        {
            if (names.Count != 1)
                throw new KubernetesStatusException(400, "BadRequest", $"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", names)}]");
            container = names[0];
        }
        else if (!names.Contains(container))
            throw new KubernetesStatusException(400, "BadRequest", $"container {container} is not valid for pod {name}");
        var status = (pod["status"]?["containerStatuses"] as JsonArray ?? []).FirstOrDefault(s => (string?)s?["name"] == container);
        if (status?["state"]?["running"] is null && status?["state"]?["terminated"] is null)
        {
            var reason = (string?)status?["state"]?["waiting"]?["reason"] ?? "ContainerCreating";
            throw new KubernetesStatusException(400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: {reason}");
        }
        var follow = query["follow"] == "true";
        var timestamps = query["timestamps"] == "true";
        DateTimeOffset? since = int.TryParse(query["sinceSeconds"], out var seconds) ? DateTimeOffset.UtcNow.AddSeconds(-seconds)
            : DateTimeOffset.TryParse(query["sinceTime"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sinceTime) ? sinceTime
            : null;
        int? tail = int.TryParse(query["tailLines"], out var t) ? t : null;
        var (code, logPath) = await PodmanAsync(["inspect", "--format", "{{.HostConfig.LogConfig.Path}}", $"{name}-{container}"], context.RequestAborted);
        if (code != 0) throw new KubernetesStatusException(500, "InternalError", $"the container's log cannot be found: {logPath.Trim()}");
        var log = new CriLog(logPath.Trim());

        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.StartAsync(context.RequestAborted);
        // The headers go out now: a follower waits for them before the first line, which may be long in coming.
        await context.Response.Body.FlushAsync(context.RequestAborted);
        var limit = follow ? options.DropLogStreamsAfterLines : null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        // The container's CRI log file, read forward as a kubelet reads it: whole lines, partial entries joined.
        var sent = 0;
        try
        {
            for (var first = true; ; first = false)
            {
                var ended = !follow || Terminated(ns, name, container);
                IEnumerable<CriLog.Entry> entries = log.ReadNew().Where(e => since is null || e.At >= since);
                if (first && tail is { } last) entries = entries.TakeLast(last);
                foreach (var entry in entries)
                {
                    if (limit is { } max && sent >= max)
                    {
                        context.Abort();
                        return 200;
                    }
                    await context.Response.WriteAsync((timestamps ? $"{entry.Time} {entry.Text}" : entry.Text) + "\n", stop.Token);
                    sent++;
                }
                await context.Response.Body.FlushAsync(stop.Token);
                if (ended) break;
                await Task.Delay(options.PollInterval, stop.Token);
            }
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The emulator is stopping: end the stream.
        }
        return 200;
    }

    private bool Terminated(string ns, string name, string container) =>
        store.Get("pods", ns, name) is not { } pod
        || (pod["status"]?["containerStatuses"] as JsonArray ?? []).Any(c => (string?)c?["name"] == container && c?["state"]?["terminated"] is not null);
}
