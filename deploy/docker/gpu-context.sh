#!/usr/bin/env bash
# deploy/docker/gpu-context.sh DIR BIN: the build context of Dockerfile.gpu
# (make image-gpu) in the empty directory DIR, around the GPU binary BIN
# (make build-gpu: cgo, dynamically linked against libc.so.6 and the driver's
# libcuda.so.1).
#
#   DIR/ringtrain  BIN
#   DIR/data/      an empty directory (/data and /tls, as in the CPU image)
#   DIR/rootfs/    this Debian 12 machine's loader and the glibc libraries the
#                  binary and the driver's libcuda.so.1 need (libcuda links
#                  libm, libc, libdl, libpthread, librt), laid out as Debian 12
#                  lays them out (merged /usr):
#                    usr/lib/x86_64-linux-gnu/{ld-linux-x86-64.so.2,libc.so.6,...}
#                    lib -> usr/lib, lib64 -> usr/lib64,
#                    usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
#                  so the binary's interpreter /lib64/ld-linux-x86-64.so.2
#                  resolves, and both directories where the NVIDIA container
#                  toolkit mounts the driver's libraries exist.
set -euo pipefail

die() { printf 'gpu-context: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 DIR BIN"
dir=$1 bin=$2
multiarch=/usr/lib/x86_64-linux-gnu
libs=(ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1)

[ -d "$dir" ] || die "$dir is not a directory"
[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
[ -x "$bin" ] || die "$bin is not an executable (make build-gpu)"
interp=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ "$interp" = /lib64/ld-linux-x86-64.so.2 ] ||
	die "$bin: program interpreter '$interp', want /lib64/ld-linux-x86-64.so.2 (a dynamically linked x86-64 build)"
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for n in $needed; do
	case " ${libs[*]} libcuda.so.1 " in *" $n "*) ;; *) die "$bin needs $n, which the image does not hold" ;; esac
done

cp "$bin" "$dir/ringtrain"
mkdir "$dir/data"
mkdir -p "$dir/rootfs$multiarch" "$dir/rootfs/usr/lib64"
for l in "${libs[@]}"; do
	[ -f "$multiarch/$l" ] || die "$multiarch/$l not found (this needs a Debian 12 x86-64 machine)"
	cp -L "$multiarch/$l" "$dir/rootfs$multiarch/$l"
done
ln -s usr/lib "$dir/rootfs/lib"
ln -s usr/lib64 "$dir/rootfs/lib64"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dir/rootfs/usr/lib64/ld-linux-x86-64.so.2"
