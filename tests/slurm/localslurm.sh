#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to run the workflow through profiles/slurm for real.
#
#   localslurm.sh install   Debian's slurm-wlm and munge, if missing
#   localslurm.sh start     munged, slurmctld and slurmd; waits until the node is idle
#   localslurm.sh stop      stops the three daemons and removes the configuration
#
# Needs root. The configuration must sit at /etc/slurm/slurm.conf: with SLURM_CONF pointing
# elsewhere, sbatch works but the job steps that snakemake's SLURM plugin starts with srun fail
# with "Could not establish a configuration source". An existing slurm.conf that this script did not
# write is never touched. The node advertises one GPU (a GRES without a device file), so that the
# profile's GPU requests go through sbatch as they would on a cluster; jobs still run on the CPU.
set -euo pipefail

STATE=${LOCALSLURM_STATE:-/tmp/cgbench-localslurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK="# written by cgbench tests/slurm/localslurm.sh"

die() { echo "localslurm: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it writes $CONF and starts daemons)"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
  if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching a real cluster's configuration"
  fi
  local host cpus mem
  host=$(hostname -s)
  # at least 8 CPUs, more than a small machine has: the workflow's many short jobs mostly wait on
  # Python start-up and the plugin's polling, so letting them overlap halves the test's time
  cpus=$(( $(nproc) > 8 ? $(nproc) : 8 ))
  mem=$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)
  mkdir -p "$CONF_DIR" "$STATE"/{state,spool,log}
  cat >"$CONF" <<EOF
$MARK
ClusterName=localslurm
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
KillWait=15
MinJobAge=3600
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$CONF_DIR/gres.conf" <<EOF
$MARK
NodeName=$host Name=gpu File=/dev/null
EOF
}

start() {
  install
  write_conf
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --force 2>/dev/null || create-munge-key -f
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge
  pgrep -x munged >/dev/null || runuser -u munge -- munged --force
  for _ in $(seq 20); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.5
  done
  munge -n | unmunge >/dev/null || die "munge does not authenticate"
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
      sinfo
      return
    fi
    sleep 1
  done
  tail -n 20 "$STATE"/log/*.log >&2 || true
  die "the node did not become idle within 60 s"
}

stop() {
  for daemon in slurmd slurmctld; do
    pkill -x "$daemon" 2>/dev/null || true
  done
  for _ in $(seq 30); do
    pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
    sleep 1
  done
  pkill -x munged 2>/dev/null || true
  for _ in $(seq 30); do
    pgrep -x munged >/dev/null || break
    sleep 0.5
  done
  if [ -e "$CONF" ] && grep -qF "$MARK" "$CONF"; then
    rm -f "$CONF" "$CONF_DIR/gres.conf"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 install|start|stop" ;;
esac
