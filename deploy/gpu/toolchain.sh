#!/usr/bin/env bash
# deploy/gpu/toolchain.sh: the build toolchain of the gpu build (docs/gpu.md),
# taken from Debian bookworm's CUDA 11.8 packages (component non-free) without
# installing them:
#
#   usr/include/cuda.h                        the driver API header (it includes
#                                             only <stdlib.h> and <stdint.h>)
#   usr/lib/x86_64-linux-gnu/stubs/libcuda.so the stub to link against (SONAME
#                                             libcuda.so.1: the driver's library)
#   usr/bin/ptxas                             the PTX assembler (needs only libc)
#
# from nvidia-cuda-dev (cuda.h, the stub) and nvidia-cuda-toolkit (ptxas), plus
# include/, lib64/stubs and bin/ links so the directory reads like a CUDA_HOME.
#
# Usage: deploy/gpu/toolchain.sh
#   The directory is ${RINGTRAIN_CUDA:-/work/cache/cuda-11.8}, outside the
#   repository. A complete one (a .toolchain stamp of this layout and every
#   file present) is reused without any network access. Otherwise apt-get
#   downloads the two .debs (about 860 MB) with a private configuration: a
#   sources file with bookworm's non-free component on the machine's Debian
#   mirror, package lists and downloads in a temporary directory, so the
#   machine's own apt sources and state are not touched; only the members
#   above are extracted (dpkg-deb --fsys-tarfile | tar -x), the .debs deleted,
#   and the tree moved into place in one rename (a reader polling for ptxas
#   never sees half a tree). Concurrent runs wait for each other (flock).
#   RINGTRAIN_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

root=${RINGTRAIN_CUDA:-/work/cache/cuda-11.8}
layout=1 # bump when the extracted members change: older trees are rebuilt
members_dev=(./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so)
members_kit=(./usr/bin/ptxas)

log() { printf 'gpu toolchain: %s\n' "$*"; }
die() { printf 'gpu toolchain: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=nonfree.sh source-path=SCRIPTDIR
. "$(dirname "$0")/nonfree.sh"

# complete DIR: the tree at DIR is whole and of this layout.
complete() {
	[ -f "$1/.toolchain" ] && grep -qx "layout=$layout" "$1/.toolchain" &&
		[ -f "$1/usr/include/cuda.h" ] &&
		[ -f "$1/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" ] &&
		[ -x "$1/usr/bin/ptxas" ]
}

cached() {
	log "$root (cached: $(sed -n 's/^packages=//p' "$root/.toolchain"))"
	log "use: make build-gpu vet-gpu ptx-check (CUDA dir $root, ptxas $root/bin/ptxas)"
}

if complete "$root"; then
	cached
	exit 0
fi

for c in apt-get dpkg-deb tar flock; do
	command -v "$c" >/dev/null || die "$c not found (this script needs Debian's apt and dpkg)"
done
case $root in /*) ;; *) die "RINGTRAIN_CUDA must be an absolute path, not $root" ;; esac
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
if complete "$root"; then # another run finished while this one waited
	cached
	exit 0
fi

t0=$(date +%s.%N)
work=$(mktemp -d "$root.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/tree"
nonfree_download "$work" nvidia-cuda-dev nvidia-cuda-toolkit
t1=$(date +%s.%N)
dev=$(echo "$work"/debs/nvidia-cuda-dev_*.deb)
kit=$(echo "$work"/debs/nvidia-cuda-toolkit_*.deb)
if [ ! -f "$dev" ] || [ ! -f "$kit" ]; then
	die "the downloaded .debs are not in $work/debs"
fi
debmb=$(du -cm "$dev" "$kit" | awk 'END { print $1 }')
vdev=$(dpkg-deb -f "$dev" Version)
vkit=$(dpkg-deb -f "$kit" Version)
for v in "$vdev" "$vkit"; do
	case $v in 11.8.*) ;; *) die "expected CUDA 11.8 packages, got version $v" ;; esac
done

# Both extractions at once (the .debs are xz: the big one takes ~30 s of CPU
# whatever is extracted from it).
log "extracting ${members_dev[*]} ${members_kit[*]}"
dpkg-deb --fsys-tarfile "$dev" | tar -x -C "$work/tree" "${members_dev[@]}" &
pdev=$!
dpkg-deb --fsys-tarfile "$kit" | tar -x -C "$work/tree" "${members_kit[@]}" &
pkit=$!
wait "$pdev" || die "extracting from $(basename "$dev") failed"
wait "$pkit" || die "extracting from $(basename "$kit") failed"
rm -rf "$work/debs" "$work/apt"
t2=$(date +%s.%N)

tree=$work/tree
ln -s usr/include "$tree/include"
ln -s usr/bin "$tree/bin"
mkdir -p "$tree/lib64"
ln -s ../usr/lib/x86_64-linux-gnu/stubs "$tree/lib64/stubs"
"$tree/usr/bin/ptxas" --version >/dev/null || die "the extracted ptxas does not run"
if command -v gcc >/dev/null; then # cuda.h compiles and the stub links
	printf '#include <cuda.h>\nint main(void) { return cuInit(0) == CUDA_SUCCESS ? 0 : 1; }\n' >"$work/t.c"
	gcc -I"$tree/include" -o "$work/t" "$work/t.c" -L"$tree/lib64/stubs" -lcuda ||
		die "a program using cuda.h does not compile and link against the stub"
fi
cat >"$tree/.toolchain" <<EOF
layout=$layout
packages=nvidia-cuda-dev $vdev, nvidia-cuda-toolkit $vkit
mirror=$mirror
EOF
rm -rf "$root"
mv "$tree" "$root"
t3=$(date +%s.%N)
size=$(du -sm "$root" | awk '{ print $1 }')
log "$root ready: nvidia-cuda-dev $vdev, nvidia-cuda-toolkit $vkit"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v mb="$debmb" -v sz="$size" 'BEGIN {
	printf "gpu toolchain: download %.1f s (%d MB of .debs, deleted), extraction %.1f s, check %.1f s, total %.1f s; %d MB on disk\n", b-a, mb, c-b, d-c, d-a, sz }'
log "use: make build-gpu vet-gpu ptx-check (CUDA dir $root, ptxas $root/bin/ptxas)"
