# Helpers for the scripts that start and stop the test suite's local servers (eng/slurm/cluster.sh,
# eng/containers/services.sh). Source it after setting `script` to the caller's name.

log() { echo "$script: $*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }

# running PID: the process exists and is not a zombie (init here reaps orphans only every ~2 s).
running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

# pid_alive FILE NAME: the pid in FILE is a live process whose command name is NAME (guards against pid reuse).
pid_alive() {
    local file="$1" name="$2" pid
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" ]] && running "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]
}

# stop_pid FILE NAME [SECONDS]: TERM, up to SECONDS (default 5), then KILL; only if the pid file names a live process called NAME.
stop_pid() {
    local file="$1" name="$2" seconds="${3:-5}" pid i
    if pid_alive "$file" "$name"; then
        pid="$(tr -dc '0-9' <"$file")"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < seconds * 20; i++)); do
            running "$pid" || break
            sleep 0.05
        done
        running "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

# apt_install PACKAGE...: installs those of the Debian packages that are missing, without recommends; needs root only then.
apt_install() {
    local need=() pkg
    for pkg in "$@"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] || need+=("$pkg")
    done
    ((${#need[@]} == 0)) && return 0
    [[ $(id -u) -eq 0 ]] || die "installing ${need[*]} needs root (sudo $0 install)"
    log "installing ${need[*]}"
    # Other apt users on this machine hold the dpkg lock for a while: wait for it rather than fail.
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300)
    # Refresh the package lists only when they do not know a package yet.
    for pkg in "${need[@]}"; do
        if [[ "$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')" =~ ^(|\(none\))$ ]]; then
            "${apt[@]}" update
            break
        fi
    done
    "${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null
}
