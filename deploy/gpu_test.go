package deploy

// Tests of the gpu build's scripts and make targets (deploy/gpu, the
// Makefile's gpu-ci, ptx-check and gpu-link-check). Those that need the
// CUDA toolchain (deploy/gpu/toolchain.sh) skip without it, unless
// REQUIRE_GPU_TOOLCHAIN=1 (CI), where its absence fails them.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var gpuScripts = []string{"gpu/toolchain.sh", "gpu/check.sh", "gpu/driverlib.sh", "gpu/nonfree.sh", "docker/gpu-context.sh"}

// The scripts parse (bash -n) and are shellcheck clean (-x: with the
// files they source).
func TestGPUScriptsLint(t *testing.T) {
	for _, f := range gpuScripts {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed (deploy/slurm/ci-install.sh installs it)")
	}
	for _, f := range gpuScripts {
		if out, err := exec.Command("shellcheck", "-x", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}

// runMake runs make in the repository root with args, isolated from a
// make that runs this test (its MAKEFLAGS carry its command line's
// variables) and from CUDA_HOME and REQUIRE_GPU_TOOLCHAIN unless args set
// them.
func runMake(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	cmd := exec.Command("make", append([]string{"-s", "--no-print-directory", "-C", ".."}, args...)...)
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CUDA_HOME", "REQUIRE_GPU_TOOLCHAIN", "RINGTRAIN_CUDA":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Without the toolchain, make's gpu-ci prints one SKIP line and succeeds,
// or fails with REQUIRE_GPU_TOOLCHAIN=1.
func TestGPUCIWithoutToolchain(t *testing.T) {
	empty := "RINGTRAIN_CUDA=" + t.TempDir()
	out, err := runMake(t, "gpu-ci", empty)
	if err != nil || !strings.Contains(out, "*** SKIP gpu-ci") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("make gpu-ci without a toolchain: %v; want one SKIP line, got:\n%s", err, out)
	}
	out, err = runMake(t, "gpu-ci", empty, "REQUIRE_GPU_TOOLCHAIN=1")
	if err == nil || !strings.Contains(out, "gpu-ci: FAIL: no CUDA toolchain") {
		t.Errorf("make gpu-ci REQUIRE_GPU_TOOLCHAIN=1 without a toolchain: %v; want a failure, got:\n%s", err, out)
	}
	for _, target := range []string{"build-gpu", "ptx-check"} {
		out, err = runMake(t, target, empty)
		if err == nil || !strings.Contains(out, "run deploy/gpu/toolchain.sh") {
			t.Errorf("make %s without a toolchain: %v; want a failure saying how to get it, got:\n%s", target, err, out)
		}
	}
}

// cudaDir is the toolchain directory (deploy/gpu/toolchain.sh's default or
// $RINGTRAIN_CUDA), or skips the test where there is none.
func cudaDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RINGTRAIN_CUDA")
	if dir == "" {
		dir = "/work/cache/cuda-11.8"
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "ptxas")); err != nil {
		if os.Getenv("REQUIRE_GPU_TOOLCHAIN") == "1" {
			t.Fatalf("REQUIRE_GPU_TOOLCHAIN=1 but no CUDA toolchain: %v", err)
		}
		t.Skipf("no CUDA toolchain in %s (deploy/gpu/toolchain.sh)", dir)
	}
	return dir
}

// ptx-check assembles good PTX and names the file ptxas rejects.
func TestPTXCheck(t *testing.T) {
	dir := cudaDir(t)
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.ptx")
	bad := filepath.Join(tmp, "bad.ptx")
	header := ".version 7.8\n.target sm_80\n.address_size 64\n"
	entry := ".visible .entry k(.param .u64 k_param_0)\n{\n\t.reg .b64 %rd<2>;\n\tld.param.u64 %rd1, [k_param_0];\n\tret;\n}\n"
	if err := os.WriteFile(good, []byte(header+entry), 0o644); err != nil {
		t.Fatal(err)
	}
	// An f64 register read as f32: ptxas refuses the operand type.
	badEntry := ".visible .entry k()\n{\n\t.reg .f32 %f<2>;\n\t.reg .f64 %fd<2>;\n\tadd.f32 %f1, %fd1, %f1;\n\tret;\n}\n"
	if err := os.WriteFile(bad, []byte(header+badEntry), 0o644); err != nil {
		t.Fatal(err)
	}
	cuda := "RINGTRAIN_CUDA=" + dir
	if out, err := runMake(t, "ptx-check", cuda, "PTX_FILES="+good); err != nil || !strings.Contains(out, "1 PTX file(s) assemble for sm_80 sm_90") {
		t.Errorf("ptx-check of good PTX: %v\n%s", err, out)
	}
	out, err := runMake(t, "ptx-check", cuda, "PTX_FILES="+good+" "+bad)
	if err == nil || !strings.Contains(out, "ptx-check: FAIL: "+bad+" does not assemble for sm_80") {
		t.Errorf("ptx-check of bad PTX: %v; want a failure naming %s, got:\n%s", err, bad, out)
	}
	if out, err := runMake(t, "ptx-check", cuda, "PTX_FILES="); err == nil || !strings.Contains(out, "no PTX files") {
		t.Errorf("ptx-check of no files: %v; want a failure, got:\n%s", err, out)
	}
}

// gpu-link-check passes a binary that needs libcuda.so.1 only, and fails
// one without it or with another CUDA library.
func TestGPULinkCheck(t *testing.T) {
	dir := cudaDir(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.c")
	if err := os.WriteFile(src, []byte("#include <cuda.h>\nint main(void) { return cuInit(0); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nvrtc := filepath.Join(tmp, "libnvrtc.so")
	gcc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	// A stand-in library with the soname of CUDA 11's NVRTC.
	if err := os.WriteFile(filepath.Join(tmp, "nvrtc.c"), []byte("int nvrtcVersion(int *a, int *b) { *a = 11; *b = 8; return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gcc("-shared", "-fPIC", "-Wl,-soname,libnvrtc.so.11.2", "-o", nvrtc, filepath.Join(tmp, "nvrtc.c"))
	inc, stubs := "-I"+filepath.Join(dir, "include"), "-L"+filepath.Join(dir, "lib64", "stubs")
	good, nocuda, extra := filepath.Join(tmp, "good"), filepath.Join(tmp, "nocuda"), filepath.Join(tmp, "extra")
	gcc(inc, "-o", good, src, stubs, "-lcuda")
	if err := os.WriteFile(filepath.Join(tmp, "nocuda.c"), []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gcc("-o", nocuda, filepath.Join(tmp, "nocuda.c"))
	gcc(inc, "-o", extra, src, stubs, "-lcuda", "-L"+tmp, "-Wl,--no-as-needed", "-lnvrtc")
	for _, tc := range []struct {
		bin, want string
		ok        bool
	}{
		{good, "needs: libcuda.so.1", true},
		{nocuda, "does not link libcuda.so.1", false},
		{extra, "links CUDA libraries besides libcuda.so.1: libnvrtc.so.11.2", false},
	} {
		out, err := runMake(t, "gpu-link-check", "GPU_BIN="+tc.bin)
		if (err == nil) != tc.ok || !strings.Contains(out, tc.want) {
			t.Errorf("gpu-link-check of %s: %v; want ok=%v and %q, got:\n%s", filepath.Base(tc.bin), err, tc.ok, tc.want, out)
		}
	}
}
