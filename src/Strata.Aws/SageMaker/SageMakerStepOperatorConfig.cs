using System.ComponentModel;

namespace Strata.Aws;

/// <summary>
/// Per-step settings of the <c>sagemaker</c> step operator (the component's config gives the defaults):
/// <c>[Step(StepOperator = "sm")]</c> with <c>.WithSettings(new SageMakerSettings { InstanceType = "ml.g5.xlarge" })</c>,
/// or <c>settings: {instance_type: ml.g5.xlarge}</c> in a run config.
/// </summary>
public class SageMakerSettings : ImageStepOperatorSettings
{
    [Description("Instance type of the training job (e.g. ml.m5.xlarge, ml.g5.xlarge). It decides the CPUs, memory and GPUs a step gets.")]
    public string InstanceType { get; set; } = "ml.m5.large";

    [Description("How many instances the job gets; the step runs on each of them, so use more than 1 only for code that coordinates them.")]
    public int InstanceCount { get; set; } = 1;

    [Description("Size in GB of the storage volume attached to each instance.")]
    public int VolumeSizeGb { get; set; } = 30;

    [Description("Longest the job may run, in seconds (SageMaker's MaxRuntimeInSeconds); default: the step's timeout, else 86400 (one day). SageMaker stops " +
        "the job after that and the step fails with MaxRuntimeExceeded.")]
    public int? MaxRun { get; set; }

    [Description("Run on managed spot capacity (cheaper, may be interrupted and resumed).")]
    public bool UseSpotInstances { get; set; }

    [Description("With use_spot_instances: longest the job may take in seconds, waiting for spot capacity included (MaxWaitTimeInSeconds, at least max_run); " +
        "default: twice max_run.")]
    public int? MaxWait { get; set; }

    [Description("Where SageMaker uploads what the job leaves in /opt/ml/model and /opt/ml/output (S3OutputPath); default: 'sagemaker' under the s3 artifact " +
        "store's path. Step outputs go to the artifact store either way. Alias: bucket_name=BUCKET, which means s3://BUCKET/sagemaker.")]
    [ConfigAlias("bucket_name", ValueFormat = "s3://{0}/sagemaker")]
    public string? OutputDataS3Uri { get; set; }

    [Description("Input data SageMaker copies to /opt/ml/input/data/CHANNEL before the step starts: an S3 URI (channel 'training'), or CHANNEL=URI pairs " +
        "(e.g. train=s3://b/train,test=s3://b/test).")]
    public string? InputDataS3Uri { get; set; }

    [Description("Extra environment variables for the job (KEY=value,KEY2=value2). SageMaker shows them to anyone who can describe the job and caps each " +
        "value at 512 characters: never put a credential here.")]
    public Dictionary<string, string>? Environment { get; set; }

    [Description("Tags for the training job (KEY=value,...), besides the strata:pipeline, strata:run, strata:step and strata:step-run tags Strata adds.")]
    public Dictionary<string, string>? Tags { get; set; }

    [Description("An existing SageMaker experiment to record the job in (ExperimentConfig.ExperimentName); the step's name becomes the trial component's " +
        "display name.")]
    public string? ExperimentName { get; set; }
}

/// <summary>
/// Config of a <c>sagemaker</c> step operator: its settings' defaults plus where and as whom it calls SageMaker, the
/// execution role the jobs run as, and their network.
/// </summary>
/// <remarks>
/// The operator's own credentials (to create, describe and stop jobs and read their logs) come from, in order: the
/// explicit keys (give them as secret references), the named profile, or the standard AWS chain. The jobs themselves get
/// none of these: they run as <see cref="Role"/>, which must be able to read and write the s3 artifact store.
/// </remarks>
public sealed class SageMakerStepOperatorConfig : SageMakerSettings
{
    [Description("ARN of the IAM execution role the training jobs run as (arn:aws:iam::ACCOUNT:role/NAME). It must be able to read and write the s3 artifact " +
        "store and pull the image.")]
    public required string Role { get; set; }

    [Description("AWS region of the jobs; default: from the environment or profile (AWS_REGION), else us-east-1.")]
    public string? Region { get; set; }

    [Description("SageMaker endpoint (emulators, VPC endpoints), e.g. http://127.0.0.1:4566; default: SageMaker's public endpoint in the region.")]
    public string? EndpointUrl { get; set; }

    [Description("CloudWatch Logs endpoint for the jobs' logs; default: endpoint_url when set (one endpoint for both, as emulators serve), else the public " +
        "endpoint.")]
    public string? LogsEndpointUrl { get; set; }

    [Description("Subnet ids the jobs run in (with security_group_ids), e.g. subnet-0a1b2c,subnet-3d4e5f.")]
    public List<string>? Subnets { get; set; }

    [Description("Security group ids of the jobs (with subnets), e.g. sg-0a1b2c.")]
    public List<string>? SecurityGroupIds { get; set; }

    [Description("Access key id for calling SageMaker; give it as a secret reference such as {{aws.access_key_id}}.")]
    [Secret]
    public string? AccessKeyId { get; set; }

    [Description("Secret access key for calling SageMaker; give it as a secret reference such as {{aws.secret_access_key}}.")]
    [Secret]
    public string? SecretAccessKey { get; set; }

    [Description("Session token of temporary credentials (with access_key_id and secret_access_key).")]
    [Secret]
    public string? SessionToken { get; set; }

    [Description("Named profile of the shared AWS config and credentials files, for calling SageMaker.")]
    public string? Profile { get; set; }
}
