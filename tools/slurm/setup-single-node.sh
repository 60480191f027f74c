#!/usr/bin/env bash
# A single-node Slurm cluster on this host, for the slurm launcher's tests (CI and dev).
# Debian bookworm, run as root, no systemd: installs slurm-wlm and munge, generates a
# munge key when absent, writes a minimal slurm.conf for `hostname -s` and starts munged,
# slurmctld and slurmd as daemons, then waits until `srun -N1 -n1 true` works.
# Idempotent: running it again keeps the key and restarts only what is not running.
#   tools/slurm/setup-single-node.sh          set up and start
#   tools/slurm/setup-single-node.sh --stop   stop slurmd, slurmctld and munged
# Environment: SLURM_SETUP_TIMEOUT_S (default 60) bounds the wait for the node.
set -euo pipefail

CONF_DIR=/etc/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
TIMEOUT_S=${SLURM_SETUP_TIMEOUT_S:-60}

say() { echo "slurm-setup: $*"; }
fail() { echo "slurm-setup: FAILED: $*" >&2; exit 1; }

# Pid of a running daemon named exactly $1 (empty when none).
running_pid() { pgrep -x "$1" | head -n 1 || true; }

stop_daemon() {
  local name=$1 pid
  pid=$(running_pid "$name")
  if [[ -z $pid ]]; then say "$name is not running"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { say "stopped $name (pid $pid)"; return; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  say "killed $name (pid $pid) after 5 s"
}

if [[ ${1:-} == "--stop" ]]; then
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
  exit 0
fi
[[ $# -eq 0 ]] || fail "unknown argument '$1' (expected no argument or --stop)"
[[ $(id -u) -eq 0 ]] || fail "must run as root (it installs packages and starts daemons), running as uid $(id -u)"

# 1. Packages.
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v srun >/dev/null && command -v munged >/dev/null; then
  say "slurm-wlm and munge already installed"
else
  command -v apt-get >/dev/null || fail "apt-get not found: this script targets Debian (bookworm)"
  say "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed (no network or no Debian mirror?)"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi

# 2. Munge key and daemon.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ -s /etc/munge/munge.key ]]; then
  say "munge key exists: /etc/munge/munge.key"
else
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  say "generated munge key /etc/munge/munge.key"
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if [[ -n $(running_pid munged) ]]; then
  say "munged already running"
else
  runuser -u munge -- munged || fail "munged did not start (see /var/log/munge/munged.log)"
  say "started munged"
fi
munge -n | unmunge >/dev/null || fail "munge round trip failed: munge -n | unmunge"

# 3. slurm.conf for this host.
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_KB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
# A modest share of the memory: slurmd refuses a node that claims more than it has.
REAL_MB=$(( MEM_KB / 1024 / 2 ))
install -d -m 0755 "$CONF_DIR" "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" "$RUN_DIR"
CONF=$(cat <<CONF
# Written by tools/slurm/setup-single-node.sh: a one-node test cluster.
ClusterName=amlfs-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
NodeName=$HOST CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
)
if [[ -f $CONF_DIR/slurm.conf ]] && [[ $(cat "$CONF_DIR/slurm.conf") == "$CONF" ]]; then
  say "slurm.conf unchanged: $CONF_DIR/slurm.conf"
  CHANGED=0
else
  printf '%s\n' "$CONF" > "$CONF_DIR/slurm.conf"
  say "wrote $CONF_DIR/slurm.conf (node $HOST, $CPUS CPUs, RealMemory=${REAL_MB} MB)"
  CHANGED=1
fi

# 4. Daemons (restarted when the config changed).
if [[ $CHANGED -eq 1 ]]; then
  stop_daemon slurmd >/dev/null
  stop_daemon slurmctld >/dev/null
fi
if [[ -n $(running_pid slurmctld) ]]; then
  say "slurmctld already running"
else
  slurmctld || fail "slurmctld did not start (see $LOG_DIR/slurmctld.log)"
  say "started slurmctld"
fi
if [[ -n $(running_pid slurmd) ]]; then
  say "slurmd already running"
else
  slurmd || fail "slurmd did not start (see $LOG_DIR/slurmd.log)"
  say "started slurmd"
fi

# 5. Wait for the node to be usable.
deadline=$(( SECONDS + TIMEOUT_S ))
state=""
until state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n 1) && [[ $state == idle* || $state == mix* || $state == alloc* ]]; do
  if [[ $state == down* || $state == drain* ]]; then
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  fi
  (( SECONDS < deadline )) || fail "node $HOST not idle after ${TIMEOUT_S} s (sinfo state: '${state:-none}'; see $LOG_DIR/slurmctld.log and slurmd.log)"
  sleep 1
done
say "node $HOST is $state"
timeout "$TIMEOUT_S" srun -N1 -n1 true || fail "srun -N1 -n1 true did not succeed within ${TIMEOUT_S} s"
say "srun -N1 -n1 true works; cluster ready (sinfo: $(sinfo -h -o '%P %D %t' | tr '\n' ' '))"
