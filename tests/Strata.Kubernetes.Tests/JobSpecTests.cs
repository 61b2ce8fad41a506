using k8s;

namespace Strata.Kubernetes.Tests;

/// <summary>What the operator asks Kubernetes for: the Job a step becomes, from the step's settings, resources and secrets.</summary>
public sealed class JobSpecTests
{
    private static StepLaunch Launch(KubernetesStepOperatorSettings settings, StepResources? resources = null,
        Dictionary<string, string>? secrets = null, TimeSpan? timeout = null) => new()
    {
        Pipeline = "training",
        RunId = "run-1",
        RunName = "training-2026_12_04-14_00_00",
        StepName = "train",
        StepRunId = "01JEXAMPLESTEPRUN0000000001",
        Command = ["dotnet", "/app/App.dll", "strata-step", "--manifest", "s3://lake/m.json"],
        Environment = new Dictionary<string, string> { ["STRATA_ARTIFACT_STORE"] = "s3://lake" },
        Secrets = secrets ?? [],
        Settings = settings,
        Resources = resources ?? StepResources.None,
        Timeout = timeout,
        ManifestUri = "s3://lake/m.json",
    };

    [Fact]
    public void A_step_is_one_never_restarted_pod_running_the_image_with_the_step_verb_labelled_with_its_run()
    {
        var (job, secret) = JobSpec.Build(Launch(new KubernetesStepOperatorSettings()), new(), "registry/app:abc", "ml");

        Assert.Null(secret);
        Assert.Equal("ml", job.Metadata.NamespaceProperty);
        Assert.StartsWith("strata-training-train-", job.Metadata.Name, StringComparison.Ordinal);
        Assert.Equal(0, job.Spec.BackoffLimit);
        Assert.Equal(3600, job.Spec.TtlSecondsAfterFinished);
        Assert.Null(job.Spec.ActiveDeadlineSeconds);
        var pod = job.Spec.Template.Spec;
        Assert.Equal("Never", pod.RestartPolicy);
        var container = Assert.Single(pod.Containers);
        Assert.Equal("registry/app:abc", container.Image);
        Assert.Null(container.Command); // the image's ENTRYPOINT starts the app
        Assert.Equal(["strata-step", "--manifest", "s3://lake/m.json"], container.Args);
        Assert.Contains(container.Env, e => e.Name == "STRATA_ARTIFACT_STORE" && e.Value == "s3://lake");
        Assert.Equal("strata", job.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("train", job.Spec.Template.Metadata.Labels["strata.io/step"]);
        Assert.Equal("training-2026_12_04-14_00_00", job.Metadata.Labels["strata.io/run"]);
        Assert.Equal("01JEXAMPLESTEPRUN0000000001", job.Metadata.Labels["strata.io/step-run-id"]);
    }

    [Fact]
    public void Secrets_go_into_a_secret_of_the_step_and_the_pod_only_references_them()
    {
        var (job, secret) = JobSpec.Build(Launch(new KubernetesStepOperatorSettings(), secrets: new() { ["HF_TOKEN"] = "hf_0123456789" }), new(),
            "app:1", "default");

        Assert.NotNull(secret);
        Assert.Equal($"{job.Metadata.Name}-secrets", secret.Metadata.Name);
        Assert.Equal("hf_0123456789", secret.StringData["HF_TOKEN"]);
        var env = Assert.Single(job.Spec.Template.Spec.Containers[0].Env, e => e.Name == "HF_TOKEN");
        Assert.Null(env.Value);
        Assert.Equal(secret.Metadata.Name, env.ValueFrom.SecretKeyRef.Name);
        Assert.DoesNotContain("hf_0123456789", KubernetesJson.Serialize(job), StringComparison.Ordinal);
    }

    [Fact]
    public void Pod_settings_flat_and_as_json_reach_the_pod_and_resources_become_requests_and_limits()
    {
        var settings = new KubernetesStepOperatorSettings
        {
            NodeSelectors = new() { ["pool"] = "gpu" },
            Tolerations = ["nvidia.com/gpu:NoSchedule", "dedicated=ml:NoExecute", "spot"],
            Annotations = new() { ["team"] = "vision" },
            Labels = new() { ["cost-center"] = "42" },
            ImagePullSecrets = ["regcred"],
            ServiceAccountName = "trainer",
            HostIpc = true,
            Environment = new() { ["LOG_LEVEL"] = "debug" },
            EnvFrom = ["configmap:defaults", "secret:wandb"],
            ImagePullPolicy = "Always",
            TtlSecondsAfterFinished = 60,
            PodSettings = """
                {"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"datasets"}}],
                 "volume_mounts":[{"name":"data","mountPath":"/data","readOnly":true}],
                 "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":
                   [{"key":"zone","operator":"In","values":["a"]}]}]}}},
                 "security_context":{"runAsUser":1000},
                 "image_pull_secrets":["other"],
                 "additional_pod_spec_args":{"priorityClassName":"high"}}
                """,
        };
        var (job, _) = JobSpec.Build(Launch(settings, new StepResources(Cpus: 4, Gpus: 1, MemoryBytes: 8L << 30), timeout: TimeSpan.FromMinutes(90)),
            settings, "app:1", "default");

        var pod = job.Spec.Template.Spec;
        var container = pod.Containers[0];
        Assert.Equal("gpu", pod.NodeSelector["pool"]);
        Assert.Contains(pod.Tolerations, t => t is { Key: "nvidia.com/gpu", OperatorProperty: "Exists", Effect: "NoSchedule" });
        Assert.Contains(pod.Tolerations, t => t is { Key: "dedicated", OperatorProperty: "Equal", Value: "ml", Effect: "NoExecute" });
        Assert.Contains(pod.Tolerations, t => t is { Key: "spot", OperatorProperty: "Exists", Effect: null });
        Assert.Equal("vision", job.Spec.Template.Metadata.Annotations["team"]);
        Assert.Equal("42", job.Spec.Template.Metadata.Labels["cost-center"]);
        Assert.Equal(["other", "regcred"], pod.ImagePullSecrets.Select(s => s.Name).Order());
        Assert.Equal("trainer", pod.ServiceAccountName);
        Assert.True(pod.HostIPC);
        Assert.Equal(1000, pod.SecurityContext.RunAsUser);
        Assert.Equal("high", pod.PriorityClassName);
        Assert.Equal("datasets", Assert.Single(pod.Volumes).PersistentVolumeClaim.ClaimName);
        Assert.Equal("/data", Assert.Single(container.VolumeMounts).MountPath);
        Assert.Equal("zone", pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key);
        Assert.Contains(container.Env, e => e is { Name: "LOG_LEVEL", Value: "debug" });
        Assert.Equal("defaults", container.EnvFrom[0].ConfigMapRef.Name);
        Assert.Equal("wandb", container.EnvFrom[1].SecretRef.Name);
        Assert.Equal("Always", container.ImagePullPolicy);
        Assert.Equal("4", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("4", container.Resources.Limits["cpu"].ToString());
        Assert.Equal((8L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), container.Resources.Limits["memory"].ToString());
        Assert.Equal("1", container.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.False(container.Resources.Requests.ContainsKey("nvidia.com/gpu"));
        Assert.Equal(5400, job.Spec.ActiveDeadlineSeconds);
        Assert.Equal(60, job.Spec.TtlSecondsAfterFinished);
    }

    [Fact]
    public void A_configured_gpu_resource_name_is_used_for_gpus()
    {
        var settings = new KubernetesStepOperatorSettings { GpuResourceName = "amd.com/gpu" };
        var (job, _) = JobSpec.Build(Launch(settings, new StepResources(Gpus: 2)), settings, "app:1", "default");
        Assert.Equal("2", job.Spec.Template.Spec.Containers[0].Resources.Limits["amd.com/gpu"].ToString());
    }

    [Theory]
    [InlineData("""{"node_selector":{"a":"b"}}""", "unknown key(s) node_selector")]
    [InlineData("""{"volumes":{"name":"x"}}""", "pod_settings.volumes is not a Kubernetes list of Volume")]
    [InlineData("""{"host_ipc":"yes"}""", "pod_settings.host_ipc must be true or false")]
    [InlineData("""[1]""", "pod_settings must be a JSON object")]
    [InlineData("""{"volumes": [""", "pod_settings is not valid JSON")]
    public void Wrong_pod_settings_are_refused_naming_the_key(string json, string message)
    {
        var settings = new KubernetesStepOperatorSettings { PodSettings = json };
        var e = Assert.Throws<StrataConfigException>(() => JobSpec.Build(Launch(settings), settings, "app:1", "default"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("key=value:Sometimes")]
    [InlineData("=value")]
    [InlineData("a b")]
    public void A_malformed_toleration_is_refused_with_the_forms_it_takes(string toleration)
    {
        var e = Assert.Throws<StrataConfigException>(() => JobSpec.Toleration(toleration));
        Assert.Contains("KEY=VALUE:EFFECT, KEY:EFFECT or KEY", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a run name with spaces/and:colons", "a-run-name-with-spaces-and-colons")]
    [InlineData("-leading_and_trailing.", "leading_and_trailing")]
    public void Label_values_are_made_valid(string text, string expected) => Assert.Equal(expected, JobSpec.LabelValue(text));
}
