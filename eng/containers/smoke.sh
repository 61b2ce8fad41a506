#!/usr/bin/env bash
# Checks the container services end to end, the way the container tests use them (run `services.sh start` first):
#   1. the base image runs under podman and has the .NET runtime;
#   2. a throwaway console app, published with the SDK's container support onto the base image, lands in the
#      registry (skopeo sees it) and runs under podman;
#   3. the Docker Engine API answers on podman's socket.
# The app lives in a temporary directory outside the repository and is deleted afterwards.
set -euo pipefail

env_file="${STRATA_CONTAINERS_DIR:-/tmp/strata-containers}/env"
[[ -f "$env_file" ]] || { echo "smoke.sh: no $env_file: run eng/containers/services.sh start first" >&2; exit 1; }
. "$env_file"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

now_ms() { date +%s%3N; }
step() { echo "==> $*"; t0="$(now_ms)"; }
took() { echo "    ok in $(($(now_ms) - t0)) ms"; }
fail() { echo "smoke.sh: FAILED: $*" >&2; exit 1; }

work="$(mktemp -d /tmp/strata-container-smoke.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tag="smoke-$$"
app="$STRATA_TEST_REGISTRY/smoke/app:$tag"

step "podman run $STRATA_TEST_BASE_IMAGE dotnet --list-runtimes"
out="$(podman run --rm --network host --tls-verify=false "$STRATA_TEST_BASE_IMAGE" dotnet --list-runtimes)"
echo "$out" | sed 's/^/    /'
grep -q '^Microsoft.NETCore.App ' <<<"$out" || fail "no .NET runtime in the base image"
took

step "dotnet publish -t:PublishContainer onto the base image -> $app"
dotnet new console -o "$work/app" -n SmokeApp >/dev/null
dotnet publish "$work/app" -c Release -nologo -v:q -t:PublishContainer \
    -p:ContainerBaseImage="$STRATA_TEST_BASE_IMAGE" -p:ContainerRegistry="$STRATA_TEST_REGISTRY" \
    -p:ContainerRepository=smoke/app -p:ContainerImageTag="$tag" >"$work/publish.log" 2>&1 ||
    { cat "$work/publish.log" >&2; fail "dotnet publish"; }
took

step "skopeo inspect docker://$app"
skopeo inspect --tls-verify=false "docker://$app" |
    python3 -c 'import json, sys; i = json.load(sys.stdin)
print("    digest", i["Digest"], "layers", len(i["Layers"]), i["Os"] + "/" + i["Architecture"])' ||
    fail "skopeo inspect"
took

step "podman run $app"
out="$(podman run --rm --network host --tls-verify=false "$app")"
echo "    $out"
grep -q Hello <<<"$out" || fail "the app did not say Hello"
took

step "Docker Engine API on $DOCKER_HOST"
socket="${DOCKER_HOST#unix://}"
version="$(curl -sf --unix-socket "$socket" http://d/v1.41/version)" || fail "no answer on $socket"
python3 -c 'import json, sys; v = json.loads(sys.argv[1])
print("    Version", v["Version"], "ApiVersion", v["ApiVersion"])' "$version"
took

# Leave neither the app's image nor its registry tag behind (the registry keeps the base image only).
podman rmi -f "$app" >/dev/null 2>&1 || true
skopeo delete --tls-verify=false "docker://$app" >/dev/null 2>&1 || true
echo "smoke.sh: all checks passed"
