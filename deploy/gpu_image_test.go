package deploy

// The GPU image (make image-gpu, docker/Dockerfile.gpu). It cannot train
// here (no GPU), but its dynamic loading can be checked up to the driver:
// with Debian's libcuda.so.1 (driver 535, gpu/driverlib.sh) mounted where
// the NVIDIA container toolkit mounts it, the binary starts (the loader,
// libc and libcuda resolve inside the image) and gorgonia.org/cu's init
// stops it with cuInit's NoDevice.

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testGPUImage = "ringtrain-gpu:deploy-test"

// gpuImageFiles is everything `docker export` of a container of the image
// holds: the image's files, and the mount points and files Docker adds to
// every container (.dockerenv, dev/, etc/, proc/, sys/).
var gpuImageFiles = []string{
	".dockerenv", "data/", "dev/", "dev/console", "dev/pts/", "dev/shm/",
	"etc/", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf",
	"lib", "lib64", "proc/", "ringtrain", "sys/", "tls/",
	"usr/", "usr/lib/", "usr/lib/x86_64-linux-gnu/",
	"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"usr/lib/x86_64-linux-gnu/libc.so.6",
	"usr/lib/x86_64-linux-gnu/libdl.so.2",
	"usr/lib/x86_64-linux-gnu/libm.so.6",
	"usr/lib/x86_64-linux-gnu/libpthread.so.0",
	"usr/lib/x86_64-linux-gnu/librt.so.1",
	"usr/lib64/", "usr/lib64/ld-linux-x86-64.so.2",
}

// exitCode is the exit status of a finished command (0 for a nil error),
// or -1 when it did not run.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

func TestGPUImage(t *testing.T) {
	docker(t)
	cuda := cudaDir(t)
	out, err := exec.Command("gpu/driverlib.sh").Output()
	if err != nil {
		t.Fatalf("gpu/driverlib.sh (Debian's libcuda1): %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	libcuda := lines[len(lines)-1]

	bin := filepath.Join(t.TempDir(), "ringtrain-gpu")
	if out, err := runMake(t, "image-gpu", "RINGTRAIN_CUDA="+cuda, "GPU_BIN="+bin, "GPU_IMAGE="+testGPUImage); err != nil {
		t.Fatalf("make image-gpu: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", testGPUImage).Run() })

	// The loader, libc and libcuda resolve: the binary runs until cu's
	// init calls cuInit, which finds no GPU here. Both directories of
	// LD_LIBRARY_PATH are tried; without the driver's library the loader
	// itself fails.
	for _, tc := range []struct {
		name  string
		mount []string
		code  int
		want  string
	}{
		{"libcuda in /usr/lib/x86_64-linux-gnu", []string{"-v", libcuda + ":/usr/lib/x86_64-linux-gnu/libcuda.so.1:ro"}, 1, "for details on: NoDevice"},
		{"libcuda in /usr/lib64", []string{"-v", libcuda + ":/usr/lib64/libcuda.so.1:ro"}, 1, "for details on: NoDevice"},
		{"no libcuda", nil, 127, "libcuda.so.1: cannot open shared object file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm", "--read-only"}, tc.mount...), testGPUImage, "version")
			out, err := exec.Command("docker", args...).CombinedOutput()
			if code := exitCode(err); code != tc.code || !strings.Contains(string(out), tc.want) {
				t.Errorf("docker %s: exit status %d (%v), want %d and %q; output:\n%s", strings.Join(args, " "), code, err, tc.code, tc.want, out)
			}
		})
	}

	// Nothing else in the image.
	out, err = exec.Command("docker", "create", testGPUImage).Output()
	if err != nil {
		t.Fatalf("docker create: %v", err)
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command("docker", "rm", id).Run()
	out, err = exec.Command("bash", "-c", "set -o pipefail; docker export "+id+" | tar t").Output()
	if err != nil {
		t.Fatalf("docker export | tar t: %v", err)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	want := slices.Sorted(slices.Values(gpuImageFiles))
	if !slices.Equal(got, want) {
		t.Errorf("the image holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	out, err = exec.Command("docker", "image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Config.WorkingDir}}|{{json .Config.Env}}", testGPUImage).Output()
	if err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	cfg := strings.TrimSpace(string(out))
	for _, w := range []string{`65534:65534|["/ringtrain"]|/data|`, `"LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu:/usr/lib64"`, `"NVIDIA_DRIVER_CAPABILITIES=compute,utility"`} {
		if !strings.Contains(cfg, w) {
			t.Errorf("image config %s: want %s", cfg, w)
		}
	}
}
