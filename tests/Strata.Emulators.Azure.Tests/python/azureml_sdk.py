"""Drives the Azure ML Python SDK (azure-ai-ml) against the emulator, as a user's script would.

usage: azureml_sdk.py submit|cancel|wrong-secret   (settings from the environment: EMULATOR, TENANT, CLIENT_ID, CLIENT_SECRET,
SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE, IMAGE, COMPUTE; AZUREML_DEV_URL_MFE and REQUESTS_CA_BUNDLE point the SDK at the emulator)
Prints one line per fact the test checks ("status=Completed", "log: ...").
"""

import os
import sys
import time
import uuid

from azure.identity import ClientSecretCredential
from azure.ai.ml import MLClient, command
from azure.ai.ml.entities import Environment

TERMINAL = {"Completed", "Failed", "Canceled"}


def client(secret=None):
    # MSAL validates an authority host it does not know through instance discovery at login.microsoftonline.com (hard-coded
    # for its alias lookup even when given another discovery URL), which a loopback emulator is not: turned off, as
    # azure-identity 1.13 spells it (later versions: disable_instance_discovery=True).
    credential = ClientSecretCredential(os.environ["TENANT"], os.environ["CLIENT_ID"], secret or os.environ["CLIENT_SECRET"],
                                        authority=os.environ["EMULATOR"], instance_discovery=False)
    return MLClient(credential, os.environ["SUBSCRIPTION"], os.environ["RESOURCE_GROUP"], os.environ["WORKSPACE"])


def create_job(ml, shell):
    env = ml.environments.create_or_update(Environment(name="strata-sdk-env", version="1", image=os.environ["IMAGE"]))
    print(f"environment={env.name}:{env.version}", flush=True)
    job = command(command=shell, environment=f"azureml:{env.name}:{env.version}", compute=os.environ["COMPUTE"],
                  environment_variables={"GREETING": "hello from the sdk"}, experiment_name="strata-sdk",
                  display_name="sdk job", name="sdk-" + uuid.uuid4().hex[:10])
    created = ml.jobs.create_or_update(job)
    print(f"created={created.name} status={created.status}", flush=True)
    return created


def wait(ml, name, statuses, patience=90):
    deadline = time.time() + patience
    while True:
        status = ml.jobs.get(name).status
        if status in statuses or time.time() > deadline:
            return status
        time.sleep(0.3)


def main(action):
    if action == "wrong-secret":
        try:
            client("not-the-secret").workspaces.get(os.environ["WORKSPACE"])
            print("refused=no")
        except Exception as e:  # azure.core.exceptions.ClientAuthenticationError
            print(f"refused=yes {type(e).__name__}: {e}".replace("\n", " "))
        return 0
    ml = client()
    if action == "submit":
        job = create_job(ml, "echo $GREETING; sleep 2; echo done")
        # stream prints the job's log while it runs (run history's logFiles, read again and again) and returns at its end.
        ml.jobs.stream(job.name)
        print(f"status={wait(ml, job.name, TERMINAL)}", flush=True)
        names = [j.name for j in ml.jobs.list()]
        print(f"listed={job.name in names}", flush=True)
        return 0
    if action == "cancel":
        job = create_job(ml, "echo started; sleep 120")
        print(f"running={wait(ml, job.name, {'Running'} | TERMINAL)}", flush=True)
        ml.jobs.begin_cancel(job.name).result()
        print(f"status={wait(ml, job.name, TERMINAL)}", flush=True)
        return 0
    print(f"unknown action {action}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
