#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine for tests/test_slurm.py (run as root; .ci/run calls it).
#   tests/slurm/start.sh [state dir, default /tmp/dr-slurm]     then: export SLURM_CONF=<state dir>/slurm.conf
# Installs Debian's slurmctld slurmd slurm-client munge when absent, writes slurm.conf from
# slurm.conf.in beside this script, starts munged, slurmctld and slurmd, and waits for the node to be idle.
# Idempotent: a cluster already answering with this config is left running. Exit 0 = usable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-/tmp/dr-slurm}"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"
if [ "$(id -u)" != 0 ]; then echo "start.sh: needs root (slurmd runs jobs as any user)" >&2; exit 3; fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
   || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
fi
if [ -f "$conf" ] && timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
  echo "start.sh: cluster already up ($conf)"; exit 0
fi
mkdir -p "$dir/state" "$dir/spool"
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM_MB@|$mem_mb|g" -e "s|@DIR@|$dir|g" \
  "$here/slurm.conf.in" > "$conf"
# munge: a key (the package makes one; create it if missing) and the daemon
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge && dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true; chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
if ! pgrep -x munged >/dev/null; then
  if id munge >/dev/null 2>&1; then su -s /bin/sh munge -c munged || munged --force; else munged --force; fi
fi
# a stale daemon from an earlier config would hold the ports
for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
sleep 1
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 60); do
  state="$(timeout 5 sinfo -h -o %t 2>/dev/null || true)"
  case "$state" in idle*|mix*|alloc*) echo "start.sh: cluster up, node $host $state ($conf)"; exit 0;; esac
  sleep 1
done
echo "start.sh: the node did not become idle; see $dir/slurmctld.log and $dir/slurmd.log" >&2
exit 1
