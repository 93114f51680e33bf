#!/usr/bin/env bash
# deploy/gpu/driverlib.sh: the NVIDIA driver's libcuda.so (Debian bookworm's
# libcuda1, component non-free, driver 535), for tests that check that the GPU
# binary's dynamic loading resolves (deploy/gpu_image_test.go: the GPU image
# runs with it mounted where the NVIDIA container toolkit puts it). Nothing is
# installed: only usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so.* is
# extracted from the package.
#
# Usage: deploy/gpu/driverlib.sh
#   Prints the path of the library (libcuda.so.<version>, soname libcuda.so.1)
#   on its last line. The directory is ${RINGTRAIN_LIBCUDA:-/work/cache/libcuda1},
#   outside the repository; a complete one (a .driverlib stamp of this layout)
#   is reused without network access. Otherwise apt-get downloads libcuda1
#   with a private configuration, as deploy/gpu/toolchain.sh does: a sources
#   file with bookworm's non-free component on the machine's Debian mirror,
#   package lists and the download in a temporary directory, so the machine's
#   apt sources and state are not touched. Concurrent runs wait for each other
#   (flock). RINGTRAIN_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

root=${RINGTRAIN_LIBCUDA:-/work/cache/libcuda1}
layout=1 # bump when the extracted members change
member=usr/lib/x86_64-linux-gnu/nvidia/current

log() { printf 'gpu driverlib: %s\n' "$*" >&2; }
die() { printf 'gpu driverlib: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=nonfree.sh source-path=SCRIPTDIR
. "$(dirname "$0")/nonfree.sh"

# library DIR: the real file libcuda.so.<version> in DIR's tree, if complete.
library() {
	[ -f "$1/.driverlib" ] && grep -qx "layout=$layout" "$1/.driverlib" || return 1
	local f
	for f in "$1/$member"/libcuda.so.*.*; do
		[ -f "$f" ] && [ ! -L "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	return 1
}

if lib=$(library "$root"); then
	log "$root (cached: $(sed -n 's/^package=//p' "$root/.driverlib"))"
	printf '%s\n' "$lib"
	exit 0
fi

for c in apt-get dpkg-deb tar flock; do
	command -v "$c" >/dev/null || die "$c not found (this script needs Debian's apt and dpkg)"
done
case $root in /*) ;; *) die "RINGTRAIN_LIBCUDA must be an absolute path, not $root" ;; esac
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
if lib=$(library "$root"); then # another run finished while this one waited
	printf '%s\n' "$lib"
	exit 0
fi

work=$(mktemp -d "$root.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/tree"
nonfree_download "$work" libcuda1
deb=$(echo "$work"/debs/libcuda1_*.deb)
[ -f "$deb" ] || die "the downloaded .deb is not in $work/debs"
version=$(dpkg-deb -f "$deb" Version)
case $version in 535.*) ;; *) die "expected driver 535's libcuda1, got version $version" ;; esac
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/tree" --wildcards "./$member/libcuda.so.*" ||
	die "extracting libcuda.so.* from $(basename "$deb") failed"
printf 'layout=%s\npackage=libcuda1 %s\nmirror=%s\n' "$layout" "$version" "$mirror" >"$work/tree/.driverlib"
rm -rf "$root"
mv "$work/tree" "$root"
lib=$(library "$root") || die "no libcuda.so.<version> in libcuda1 $version"
log "$root ready: libcuda1 $version"
printf '%s\n' "$lib"
