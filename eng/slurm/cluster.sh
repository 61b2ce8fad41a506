#!/usr/bin/env bash
# A real single-node Slurm cluster for the Slurm integration tests (Debian's slurm-wlm 22.05).
#
#   eng/slurm/cluster.sh install   apt packages slurm-wlm munge slurmrestd slurm-wlm-jwt-plugin, only if missing
#   eng/slurm/cluster.sh start     munged (unless a working one runs), slurmctld, slurmd and two slurmrestd
#                                  (JWT on 127.0.0.1:$STRATA_SLURM_REST_PORT, local auth on a unix socket);
#                                  returns once a probe job has completed and both REST endpoints answer
#   eng/slurm/cluster.sh stop      stops what start started (by pid file only) and removes the base dir
#   eng/slurm/cluster.sh status    prints what runs; exit 0 only when the whole cluster is up
#
# Everything lives under $STRATA_SLURM_DIR (default /tmp/strata-slurm). `start` writes <base>/env with
# SLURM_CONF, STRATA_SLURM_REST_URL, STRATA_SLURM_REST_SOCKET and STRATA_SLURM_JWT; source it to talk to
# the cluster. Both start and install are idempotent: `start` on a running cluster changes nothing.
#
# Ports (one cluster per machine): STRATA_SLURM_CTLD_PORT (6817), STRATA_SLURM_SLURMD_PORT (6818),
# STRATA_SLURM_REST_PORT (6820). STRATA_SLURM_JWT_LIFESPAN is the token's lifetime in seconds (default 7 days).
set -euo pipefail

base="${STRATA_SLURM_DIR:-/tmp/strata-slurm}"
ctld_port="${STRATA_SLURM_CTLD_PORT:-6817}"
slurmd_port="${STRATA_SLURM_SLURMD_PORT:-6818}"
rest_port="${STRATA_SLURM_REST_PORT:-6820}"
jwt_lifespan="${STRATA_SLURM_JWT_LIFESPAN:-604800}"
api="v0.0.38"

conf="$base/slurm.conf"
rest_socket="$base/rest/slurmrestd.sock"
export SLURM_CONF="$conf"

script=cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../daemons.sh"

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
    local seconds="$1" what="$2"; shift 2
    local deadline=$(($(now_ms) + seconds * 1000))
    until "$@" >/dev/null 2>&1; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

cmd_install() {
    apt_install slurm-wlm munge slurmrestd slurm-wlm-jwt-plugin curl
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    munge_works && return 0
    [[ -s /etc/munge/munge.key ]] || {
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        (umask 077 && dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
        chown munge:munge /etc/munge/munge.key
    }
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    # A munged that died leaves its socket and pid file behind; munged refuses to start over a live-looking socket.
    if [[ -e /run/munge/munged.pid ]] && ! pid_alive /run/munge/munged.pid munged; then
        rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    fi
    # Daemons get no inherited stdout/stderr: a caller reading our output (a test fixture) would wait for them forever.
    runuser -u munge -- /usr/sbin/munged </dev/null >>"$base/log/munged.out" 2>&1
    wait_for 5 munged munge_works || die "munged did not start (see /var/log/munge/munged.log)"
    # Only a munged started here is ours to stop.
    cp /run/munge/munged.pid "$base/munged.pid"
}

write_conf() {
    local host cpus mem_mib tmp
    host="$(hostname -s)"
    cpus="$(nproc)"
    mem_mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 - 512))
    ((mem_mib > 0)) || mem_mib=1
    tmp="$(mktemp "$base/slurm.conf.XXXXXX")"
    cat >"$tmp" <<EOF
# Written by eng/slurm/cluster.sh: a single-node test cluster.
ClusterName=strata
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$base/jwt_hs256.key
MailProg=/bin/true
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$base/jobcomp.log
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1,batch_sched_delay=0,sched_min_interval=0
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 0644 "$tmp"
    if [[ -f "$conf" ]] && cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
    else
        [[ -f "$conf" ]] && pid_alive "$base/slurmctld.pid" slurmctld &&
            log "warning: slurm.conf changed while slurmctld runs; run '$0 stop' and start again to apply it"
        mv -f "$tmp" "$conf"
    fi
}

# rest_probe_jwt / rest_probe_socket: the REST endpoint answers a ping with HTTP 200.
rest_probe_jwt() {
    local token; token="$(env_value STRATA_SLURM_JWT)"
    [[ -n "$token" ]] || return 1
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "X-SLURM-USER-NAME: root" \
        -H "X-SLURM-USER-TOKEN: $token" "http://127.0.0.1:$rest_port/slurm/$api/ping")" == 200 ]]
}
rest_probe_socket() {
    [[ -S "$rest_socket" ]] &&
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --unix-socket "$rest_socket" "http://localhost/slurm/$api/ping")" == 200 ]]
}

# The one value of an export line in <base>/env (its values are single-quoted and contain no quotes).
env_value() {
    [[ -f "$base/env" ]] || return 0
    sed -n "s/^export $1='\\(.*\\)'\$/\\1/p" "$base/env"
}

write_env() {
    local token tmp
    token="$(scontrol token username=root lifespan="$jwt_lifespan" | sed -n 's/^SLURM_JWT=//p')"
    [[ -n "$token" ]] || die "scontrol token returned no token"
    tmp="$(mktemp "$base/env.XXXXXX")"
    chmod 0600 "$tmp"
    cat >"$tmp" <<EOF
# Written by eng/slurm/cluster.sh start. Source it to use the test cluster.
export SLURM_CONF='$conf'
export STRATA_SLURM_REST_URL='http://127.0.0.1:$rest_port'
export STRATA_SLURM_REST_SOCKET='$rest_socket'
export STRATA_SLURM_JWT='$token'
EOF
    mv -f "$tmp" "$base/env"
}

# start_rest NAME PIDFILE ENV... -- ARGS...: one slurmrestd as nobody (it refuses to run as root), in the background.
# Only the openapi/v0.0.38 plugin: the dbv0.0.* plugins are fatal without slurmdbd.
start_rest() {
    local name="$1" pidfile="$2"; shift 2
    local envs=()
    while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
    shift
    env SLURM_CONF="$conf" "${envs[@]}" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups \
        /usr/sbin/slurmrestd -f "$conf" -s "openapi/$api" "$@" </dev/null >>"$base/log/$name.log" 2>&1 &
    echo $! >"$pidfile"
}

probe_job() {
    local id state deadline
    id="$(sbatch --parsable --job-name=strata-probe --output=/dev/null --error=/dev/null --chdir="$base" --wrap=true)"
    id="${id%%;*}"
    deadline=$(($(now_ms) + 30000))
    while :; do
        state="$(scontrol show job -o "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)"
        case "$state" in
            JobState=COMPLETED) return 0 ;;
            JobState=FAILED | JobState=CANCELLED | JobState=NODE_FAIL | JobState=BOOT_FAIL)
                die "probe job $id ended as ${state#JobState=} (see $base/log)" ;;
        esac
        (($(now_ms) < deadline)) || die "probe job $id did not complete in 30 s (${state:-no state}; see $base/log)"
        sleep 0.1
    done
}

cluster_up() {
    pid_alive "$base/slurmctld.pid" slurmctld && pid_alive "$base/slurmd.pid" slurmd &&
        pid_alive "$base/slurmrestd-jwt.pid" slurmrestd && pid_alive "$base/slurmrestd-local.pid" slurmrestd &&
        munge_works && [[ -f "$base/env" ]] && rest_probe_jwt && rest_probe_socket
}

cmd_start() {
    local t0 started=()
    t0="$(now_ms)"
    command -v slurmctld >/dev/null || die "Slurm is not installed: run '$0 install' first"
    if cluster_up; then
        log "already running (base $base)"
        return 0
    fi
    mkdir -p "$base/state" "$base/spool" "$base/log" "$base/rest"
    chmod 0755 "$base"
    chmod 1777 "$base/rest" # the local-auth slurmrestd runs as nobody and creates its socket here
    write_conf
    [[ -s "$base/jwt_hs256.key" ]] || (umask 077 && head -c 32 /dev/urandom >"$base/jwt_hs256.key")
    chmod 0600 "$base/jwt_hs256.key"

    start_munge

    if ! pid_alive "$base/slurmctld.pid" slurmctld; then
        slurmctld -c -i -f "$conf" </dev/null >>"$base/log/slurmctld.out" 2>&1 || die "slurmctld failed (see $base/log/slurmctld.log)"
        wait_for 10 slurmctld scontrol ping || die "slurmctld does not answer (see $base/log/slurmctld.log)"
        started+=(slurmctld)
        rm -f "$base/env" # a new controller: hand out a fresh token below
    fi
    if ! pid_alive "$base/slurmd.pid" slurmd; then
        slurmd -f "$conf" </dev/null >>"$base/log/slurmd.out" 2>&1 || die "slurmd failed (see $base/log/slurmd.log)"
        started+=(slurmd)
    fi
    [[ -f "$base/env" ]] || write_env

    if ! pid_alive "$base/slurmrestd-jwt.pid" slurmrestd; then
        # SLURM_JWT=daemon: the controller checks each request's token (X-SLURM-USER-TOKEN).
        start_rest slurmrestd-jwt "$base/slurmrestd-jwt.pid" SLURM_JWT=daemon -- -a rest_auth/jwt "127.0.0.1:$rest_port"
        started+=(slurmrestd-jwt)
    fi
    if ! pid_alive "$base/slurmrestd-local.pid" slurmrestd; then
        rm -f "$rest_socket"
        # Local auth identifies the caller by the socket peer; jobs submitted this way run as nobody.
        start_rest slurmrestd-local "$base/slurmrestd-local.pid" -- -a rest_auth/local "unix:$rest_socket"
        started+=(slurmrestd-local)
    fi

    probe_job
    wait_for 10 slurmrestd-jwt rest_probe_jwt || die "slurmrestd (JWT) does not answer on 127.0.0.1:$rest_port (see $base/log/slurmrestd-jwt.log)"
    wait_for 10 slurmrestd-local rest_probe_socket || die "slurmrestd (local) does not answer on $rest_socket (see $base/log/slurmrestd-local.log)"
    log "up in $(($(now_ms) - t0)) ms (started: ${started[*]:-nothing}; base $base; source $base/env)"
}

cmd_stop() {
    [[ -d "$base" ]] || { log "not running (no $base)"; return 0; }
    stop_pid "$base/slurmrestd-jwt.pid" slurmrestd
    stop_pid "$base/slurmrestd-local.pid" slurmrestd
    stop_pid "$base/slurmd.pid" slurmd
    stop_pid "$base/slurmctld.pid" slurmctld
    stop_pid "$base/munged.pid" munged
    rm -rf "$base"
    log "stopped"
}

cmd_status() {
    local up=0 what
    for what in slurmctld slurmd slurmrestd-jwt slurmrestd-local munged; do
        if pid_alive "$base/$what.pid" "${what%%-*}"; then
            echo "$what: running (pid $(tr -dc '0-9' <"$base/$what.pid"))"
        elif [[ "$what" == munged ]]; then
            munge_works && echo "munged: running (not started by this script)" || echo "munged: not running"
        else
            echo "$what: not running"
        fi
    done
    cluster_up && up=1
    if ((up)); then
        echo "cluster: up (source $base/env)"
        sinfo -h -o 'node %N: %T, %c CPUs, %m MiB' 2>/dev/null || true
        return 0
    fi
    echo "cluster: down"
    return 1
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
