#!/usr/bin/python3
"""Runs a training job through botocore, AWS's own Python SDK, against an endpoint: CreateTrainingJob, then
DescribeTrainingJob until the job ends, then the job's CloudWatch log events.

argv: endpoint URL, training job name, training image. Credentials and region come from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), as the emulator host prints them.
stdout: JSON {"created": CreateTrainingJob's answer, "described": the last DescribeTrainingJob answer, "log": [messages]}."""
import json
import sys
import time

import botocore.session

endpoint, name, image = sys.argv[1:4]
session = botocore.session.get_session()
sagemaker = session.create_client("sagemaker", endpoint_url=endpoint)
logs = session.create_client("logs", endpoint_url=endpoint)

created = sagemaker.create_training_job(
    TrainingJobName=name,
    AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
    RoleArn="arn:aws:iam::123456789012:role/strata-emulator",
    HyperParameters={"epochs": "1"},
    Environment={"GREETING": "hello"},
    OutputDataConfig={"S3OutputPath": "s3://strata-emulator-test/output"},
    ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    StoppingCondition={"MaxRuntimeInSeconds": 600},
)

deadline = time.monotonic() + 60
while True:
    described = sagemaker.describe_training_job(TrainingJobName=name)
    if described["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") or time.monotonic() > deadline:
        break
    time.sleep(0.2)

streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name)["logStreams"]
messages = []
for stream in streams:
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True)
    messages += [e["message"] for e in events["events"]]

for answer in (created, described):
    answer.pop("ResponseMetadata", None)
json.dump({"created": created, "described": described, "log": messages}, sys.stdout, default=str)
