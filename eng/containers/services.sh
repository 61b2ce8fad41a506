#!/usr/bin/env bash
# Container services for the container integration tests: a local image registry, podman's Docker-compatible
# API, and a .NET runtime base image in that registry (no public registry is reachable from the test machines).
#
#   eng/containers/services.sh install   apt packages podman runc catatonit docker-registry debootstrap skopeo,
#                                        only those missing
#   eng/containers/services.sh start     Debian's docker-registry on 127.0.0.1:$STRATA_CONTAINERS_REGISTRY_PORT,
#                                        `podman system service` on <base>/podman.sock, and the base image
#                                        localhost:<port>/strata/dotnet-runtime:<host's .NET runtime version>-aspnetcore
#   eng/containers/services.sh stop      stops what start started (by pid file only); keeps the registry's
#                                        storage, podman's storage and the cached base image
#   eng/containers/services.sh status    prints what runs; exit 0 only when everything is up
#
# Everything lives under $STRATA_CONTAINERS_DIR (default /tmp/strata-containers). `start` writes <base>/env with
# STRATA_TEST_REGISTRY, STRATA_TEST_BASE_IMAGE, DOCKER_HOST and the CONTAINERS_* variables that point podman and
# skopeo at this script's own configuration files; source it to use the services. Nothing in /etc is changed, and
# of /etc/containers only policy.json is still read. Outside the base directory podman keeps only its run-time
# state in /run/libpod and a blob cache in /var/lib/containers/cache.
# Both start and install are idempotent; concurrent `start` calls wait for each other.
#
# The base image is a debootstrapped Debian bookworm (minbase, plus ICU, CA certificates, tzdata and OpenSSL) with
# the host's .NET runtime copied in. Building it takes about a minute, so the finished root file system is kept as
# a tarball in $STRATA_CONTAINERS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/strata), keyed on the runtime version:
# a fresh base directory only pays for import and push. start checks only that the tag exists, so after changing
# the recipe below, `stop` and delete both that tarball and the base directory.
set -euo pipefail

base="${STRATA_CONTAINERS_DIR:-/tmp/strata-containers}"
cache="${STRATA_CONTAINERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata}"
port="${STRATA_CONTAINERS_REGISTRY_PORT:-5000}"
suite=bookworm
base_packages=libicu72,ca-certificates,tzdata,libssl3

# localhost, not 127.0.0.1: the .NET SDK's container publishing uses plain http for localhost registries by itself.
registry="localhost:$port"
socket="$base/podman.sock"
export CONTAINERS_CONF="$base/containers.conf"
export CONTAINERS_STORAGE_CONF="$base/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$base/registries.conf"

script=services.sh
. "$(dirname "${BASH_SOURCE[0]}")/../daemons.sh"

# wait_up SECONDS PIDFILE PROBE: polls PROBE every 0.1 s until it succeeds; gives up early when the process died.
wait_up() {
    local seconds="$1" pid probe="$3" deadline
    pid="$(tr -dc '0-9' <"$2")"
    deadline=$(($(now_ms) + seconds * 1000))
    until "$probe" >/dev/null 2>&1; do
        running "$pid" && (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

cmd_install() {
    # Without recommends: as root podman needs none of buildah, slirp4netns, fuse-overlayfs or uidmap, and runc
    # (named explicitly) satisfies its runtime dependency; crun fails on this machine's hybrid cgroups. Of the
    # recommends only catatonit is needed: `podman kube play` builds its pod's pause image from it (and containers run with --init).
    apt_install podman runc catatonit docker-registry debootstrap skopeo curl
}

# write_file PATH: stdin to PATH, replacing it only when the content differs (podman re-reads its files per call).
write_file() {
    local tmp
    tmp="$(mktemp "$1.XXXXXX")"
    cat >"$tmp"
    chmod 0644 "$tmp"
    if [[ -f "$1" ]] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

write_confs() {
    write_file "$CONTAINERS_CONF" <<EOF
# Written by eng/containers/services.sh. CONTAINERS_CONF makes podman read this file instead of /etc's.
[containers]
# podman's default asks for more open files than this machine allows (no CAP_SYS_RESOURCE).
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
# crun fails on hybrid cgroups; there is no systemd to manage cgroups or to collect events.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$base/run/events.log"

[network]
# Networks podman creates go here, not into /etc/cni/net.d; the tests use the host network.
network_config_dir = "$base/networks"
EOF
    write_file "$CONTAINERS_STORAGE_CONF" <<EOF
# Written by eng/containers/services.sh. CONTAINERS_STORAGE_CONF makes podman read this file instead of /etc's.
[storage]
driver = "overlay"
graphroot = "$base/storage"
runroot = "$base/run/storage"
EOF
    write_file "$CONTAINERS_REGISTRIES_CONF" <<EOF
# Written by eng/containers/services.sh. The test registry speaks plain http.
unqualified-search-registries = []

[[registry]]
location = "localhost:$port"
insecure = true

[[registry]]
location = "127.0.0.1:$port"
insecure = true
EOF
    write_file "$base/registry.yml" <<EOF
# Written by eng/containers/services.sh: Debian's docker-registry, without the htpasswd auth of /etc's config.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $base/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
}

registry_answers() { curl -sf --max-time 2 -o /dev/null "http://$registry/v2/"; }
podman_answers() {
    [[ -S "$socket" ]] && [[ "$(curl -sf --max-time 2 --unix-socket "$socket" http://d/_ping)" == OK ]]
}

start_registry() {
    registry_answers &&
        die "something else serves $registry; stop it or set STRATA_CONTAINERS_REGISTRY_PORT"
    mkdir -p "$base/registry"
    # Daemons get no inherited stdout/stderr (a caller reading our output would wait for them forever), and not
    # the lock's descriptor 9 either (the lock would stay held for as long as they run).
    docker-registry serve "$base/registry.yml" </dev/null >>"$base/log/registry.log" 2>&1 9>&- &
    echo $! >"$base/registry.pid"
    wait_up 15 "$base/registry.pid" registry_answers ||
        die "the registry does not answer on $registry (see $base/log/registry.log)"
}

start_podman() {
    rm -f "$socket"
    podman system service --time=0 "unix://$socket" </dev/null >>"$base/log/podman.log" 2>&1 9>&- &
    echo $! >"$base/podman.pid"
    wait_up 30 "$base/podman.pid" podman_answers || die "podman does not answer on $socket (see $base/log/podman.log)"
}

# The highest Microsoft.NETCore.App version the host's dotnet has: the base image's runtime and its tag.
runtime_version() {
    dotnet --list-runtimes 2>/dev/null | awk '$1 == "Microsoft.NETCore.App" { print $2 }' | sort -V | tail -n 1
}

# The Debian mirror apt uses for $suite, from one-line (sources.list) or deb822 (*.sources) files.
debian_mirror() {
    local files=() mirror
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    shopt -s nullglob
    files+=(/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    shopt -u nullglob
    ((${#files[@]})) && mirror="$(awk -v suite="$suite" '
        FNR == 1 { flush(); deb822 = FILENAME ~ /\.sources$/ }
        # flush: the deb822 stanza read so far, printed if it is the one (exit runs END, hence "found").
        function flush() {
            if (!found && deb822 && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
                enabled != "no" && uris != "") {
                split(uris, u, " "); print u[1]; found = 1; exit
            }
            types = uris = suites = enabled = ""
        }
        deb822 && /^[ \t]*$/ { flush(); next }
        deb822 && tolower($1) == "types:" { $1 = ""; types = $0 }
        deb822 && tolower($1) == "uris:" { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
        deb822 && tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
        deb822 && tolower($1) == "enabled:" { enabled = tolower($2) }
        !deb822 && $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) while ($i !~ /\]$/) i++   # [ options ]
            if ($i ~ /^\[/ || $i ~ /\]$/) i++
            if ($(i + 1) == suite) { print $i; found = 1; exit }
        }
        END { flush() }' "${files[@]}")"
    echo "${mirror:-http://deb.debian.org/debian}"
}

base_image_present() {
    curl -sfI --max-time 5 -o /dev/null \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json' \
        "http://$registry/v2/strata/dotnet-runtime/manifests/$1"
}

# build_rootfs_tarball VERSION TARBALL: the base image's root file system, debootstrapped, with the host's runtime.
build_rootfs_tarball() {
    local version="$1" tarball="$2" dotnet_root mirror rootfs
    # Where dotnet says this runtime lives ("... 10.0.12 [/usr/share/dotnet/shared/Microsoft.NETCore.App]"), else
    # next to the real dotnet executable (the one on PATH is usually a symlink).
    dotnet_root="$(dotnet --list-runtimes | awk -v v="$version" '$1 == "Microsoft.NETCore.App" && $2 == v {
        sub(/^\[/, "", $3); sub(/\/shared\/Microsoft\.NETCore\.App\]$/, "", $3); print $3; exit }')"
    [[ -x "$dotnet_root/dotnet" ]] || dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
    [[ -d "$dotnet_root/shared/Microsoft.NETCore.App/$version" ]] || die "no .NET runtime $version under $dotnet_root"
    command -v debootstrap >/dev/null || die "debootstrap is not installed: run '$0 install' first"
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d "$base/rootfs.XXXXXX")"
    log "building the base image's root file system (debootstrap $suite from $mirror, about a minute)"
    if ! debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" "$mirror" \
        >"$base/log/debootstrap.log" 2>&1; then
        rm -rf "$rootfs"
        die "debootstrap failed (see $base/log/debootstrap.log)"
    fi
    mkdir -p "$rootfs/usr/share/dotnet/shared"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$rootfs/usr/share/dotnet/"
    mkdir -p "$rootfs/usr/share/dotnet/shared/Microsoft.NETCore.App"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$version" "$rootfs/usr/share/dotnet/shared/Microsoft.NETCore.App/"
    # ASP.NET Core's shared framework too, when the host has it in the same version: the strata command (which the tests
    # run in containers as the step entrypoint) serves the dashboard, so it needs both.
    if [[ -d "$dotnet_root/shared/Microsoft.AspNetCore.App/$version" ]]; then
        mkdir -p "$rootfs/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
        cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$version" "$rootfs/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
    fi
    ln -sf /usr/share/dotnet/dotnet "$rootfs/usr/bin/dotnet"
    # Nothing in the image needs the downloaded packages, apt's lists, manuals or message translations (a fifth
    # of the image; ICU's data is elsewhere). The copyright files stay.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
        "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    mkdir -p "$(dirname "$tarball")"
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
}

# push_base_image VERSION: pushes the base image to the registry, after importing it from the cached tarball or
# building that first.
push_base_image() {
    local version="$1" image="$registry/strata/dotnet-runtime:$1-aspnetcore" tarball="$cache/base-image-$1-aspnetcore.tar" t0
    t0="$(now_ms)"
    # podman's own storage may still hold the image (the registry's storage was deleted): then a push is enough.
    if ! podman image exists "$image"; then
        [[ -s "$tarball" ]] || build_rootfs_tarball "$version" "$tarball"
        # PATH is set in the image because `podman kube play` gives a container none.
        podman import --quiet \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/share/dotnet' \
            --change 'ENV DOTNET_ROOT=/usr/share/dotnet' \
            "$tarball" "$image" >/dev/null || die "podman import of $tarball failed"
    fi
    podman push --quiet --tls-verify=false "$image" >>"$base/log/push.log" 2>&1 ||
        die "podman push $image failed (see $base/log/push.log)"
    base_image_present "$version-aspnetcore" || die "$image is not in the registry after the push"
    log "base image $image pushed in $(($(now_ms) - t0)) ms"
}

write_env() {
    local version="$1"
    write_file "$base/env" <<EOF
# Written by eng/containers/services.sh start. Source it to use the test registry and podman.
export STRATA_CONTAINERS_DIR='$base'
export STRATA_TEST_REGISTRY='$registry'
export STRATA_TEST_BASE_IMAGE='$registry/strata/dotnet-runtime:$version-aspnetcore'
export DOCKER_HOST='unix://$socket'
export CONTAINERS_CONF='$CONTAINERS_CONF'
export CONTAINERS_STORAGE_CONF='$CONTAINERS_STORAGE_CONF'
export CONTAINERS_REGISTRIES_CONF='$CONTAINERS_REGISTRIES_CONF'
EOF
}

# lock: one start or stop at a time (test projects that run in parallel may each call start).
lock() {
    mkdir -p "$base"
    exec 9>"$base/lock"
    flock -w 600 9 || die "another $0 held $base/lock for 10 minutes"
}

cmd_start() {
    local t0 version started=()
    t0="$(now_ms)"
    command -v podman >/dev/null && command -v docker-registry >/dev/null ||
        die "podman or docker-registry is not installed: run '$0 install' first"
    version="$(runtime_version)"
    [[ -n "$version" ]] || die "dotnet --list-runtimes lists no Microsoft.NETCore.App"
    lock
    mkdir -p "$base/log" "$base/run"
    write_confs
    # Each step only when needed (and not as `step && ...`: that would turn off set -e inside the step).
    if ! pid_alive "$base/registry.pid" docker-registry; then
        start_registry
        started+=(registry)
    fi
    if ! pid_alive "$base/podman.pid" podman; then
        start_podman
        started+=(podman)
    fi
    if ! base_image_present "$version-aspnetcore"; then
        push_base_image "$version"
        started+=(base-image)
    fi
    write_env "$version"
    log "up in $(($(now_ms) - t0)) ms (started: ${started[*]:-nothing}; base $base; source $base/env)"
}

cmd_stop() {
    [[ -d "$base" ]] || { log "not running (no $base)"; return 0; }
    lock
    stop_pid "$base/podman.pid" podman 10
    stop_pid "$base/registry.pid" docker-registry 10
    prune
    # The podman service bind-mounts its overlay directory onto itself (to make it a private mount) and leaves
    # that mount behind when it stops; then deleting the base directory fails with "Device or resource busy".
    if mountpoint -q "$base/storage/overlay"; then
        umount "$base/storage/overlay" 2>/dev/null ||
            log "warning: could not unmount $base/storage/overlay (does a container still run?)"
    fi
    rm -f "$socket"
    log "stopped (kept $base/registry, $base/storage and $cache)"
}

# Tests and benchmarks push every image under a fresh name: keep only the base image, so storage does not grow run after run.
prune() {
    local repos="$base/registry/docker/registry/v2/repositories" image
    if [[ -d "$repos" ]]; then
        find "$repos" -mindepth 1 -maxdepth 1 ! -name strata -exec rm -rf {} +
        [[ -d "$repos/strata" ]] && find "$repos/strata" -mindepth 1 -maxdepth 1 ! -name dotnet-runtime -exec rm -rf {} +
        docker-registry garbage-collect "$base/registry.yml" >/dev/null 2>&1 || log "warning: the registry's garbage collection failed"
    fi
    for image in $(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null); do
        [[ "$image" == "$registry/strata/dotnet-runtime:"* ]] || podman rmi -f "$image" >/dev/null 2>&1 || true
    done
}

cmd_status() {
    local up=0 version
    if pid_alive "$base/registry.pid" docker-registry; then
        echo "registry: running (pid $(tr -dc '0-9' <"$base/registry.pid"), $registry)"
    else
        echo "registry: not running"
    fi
    if pid_alive "$base/podman.pid" podman; then
        echo "podman: running (pid $(tr -dc '0-9' <"$base/podman.pid"), $socket)"
    else
        echo "podman: not running"
    fi
    version="$(runtime_version)"
    if registry_answers && podman_answers && [[ -f "$base/env" ]] && base_image_present "$version"; then
        echo "up (base image $registry/strata/dotnet-runtime:$version-aspnetcore; source $base/env)"
        return 0
    fi
    echo "down"
    return 1
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
