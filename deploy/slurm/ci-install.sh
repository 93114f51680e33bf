#!/bin/sh
# Installs what deploy/slurm_test.go needs on Debian/Ubuntu: Slurm (slurmctld, slurmd, the
# client commands), munge, and shellcheck. Idempotent: nothing happens when they are there.
# Run as root (CI): sh deploy/slurm/ci-install.sh
set -eu

need=""
for cmd in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge shellcheck:shellcheck; do
	command -v "${cmd%%:*}" >/dev/null 2>&1 || need="$need ${cmd#*:}"
done
if [ -z "$need" ]; then
	echo "ci-install: Slurm, munge and shellcheck already installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "ci-install: need root and apt-get to install:$need" >&2
	exit 1
fi
echo "ci-install: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $need >/dev/null
# The packages' postinst may start daemons where an init system runs; the test starts its own.
echo "ci-install: done"
