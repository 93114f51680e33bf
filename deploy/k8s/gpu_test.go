package k8s

// The GPU overlay (gpu/): what its patch does to the workers, what kubectl's
// kustomize makes of it, and what the patched worker's environment does to
// ringtrain. No GPU cluster is available here: the GPU image and driver are
// checked by ../gpu_image_test.go, scheduling onto GPUs not at all.

import (
	"context"
	"os/exec"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

const (
	gpuImage  = "ringtrain-gpu:latest" // make image-gpu
	cpuImage  = "ringtrain:latest"     // make image
	gpuDevice = "gpu:0"                // the pod's one GPU, as the device plugin exposes it
)

// gpuPatch returns the gpu overlay's patch of a StatefulSet's container,
// or nil, after checking every patch document targets a container of the
// base.
func gpuPatch(t *testing.T, sts, container string) *corev1.Container {
	t.Helper()
	tr := mustLoad(t)
	objs := tr.objects("gpu")
	var found *corev1.Container
	for _, p := range tr.kusts["gpu"].Patches {
		for _, d := range tr.files[path.Join("gpu", p.Path)] {
			patch, ok := d.obj.(*appsv1.StatefulSet)
			if !ok {
				t.Fatalf("%s: want a StatefulSet patch", d)
			}
			target := byName[appsv1.StatefulSet](objs, patch.Name)
			if target == nil || (patch.Namespace != "" && patch.Namespace != target.Namespace) {
				t.Fatalf("%s: patches StatefulSet %s/%s, which the base does not define", d, patch.Namespace, patch.Name)
			}
			for i, c := range patch.Spec.Template.Spec.Containers {
				if !slices.ContainsFunc(target.Spec.Template.Spec.Containers, func(b corev1.Container) bool { return b.Name == c.Name }) {
					t.Fatalf("%s: container %s is not in %s (a strategic merge would add a container without a command)", d, c.Name, target.Name)
				}
				if patch.Name == sts && c.Name == container {
					found = &patch.Spec.Template.Spec.Containers[i]
				}
			}
		}
	}
	return found
}

// mergeContainer is the strategic merge of patch into base for the fields
// the GPU patch sets (image, env by name, resource limits); a patch that
// sets any other field fails the test, so the model cannot silently fall
// behind the patch (TestKustomizeBuild compares it with kustomize's).
// Limits are merged into the base's (the base has them: TestContainers).
func mergeContainer(t *testing.T, base, patch corev1.Container) corev1.Container {
	t.Helper()
	rest := patch
	rest.Name, rest.Image, rest.Env, rest.Resources.Limits = "", "", nil, nil
	if !reflect.DeepEqual(rest, corev1.Container{}) {
		t.Fatalf("the patch of container %s sets fields this test does not merge: %+v", patch.Name, rest)
	}
	out := *base.DeepCopy()
	if patch.Image != "" {
		out.Image = patch.Image
	}
	// Variables the base lacks go first, in the patch's order, as
	// kustomize's merge puts them (the order matters only to $(VAR)
	// references between them).
	var added []corev1.EnvVar
	for _, e := range patch.Env {
		if i := slices.IndexFunc(out.Env, func(b corev1.EnvVar) bool { return b.Name == e.Name }); i >= 0 {
			out.Env[i] = e
		} else {
			added = append(added, e)
		}
	}
	out.Env = append(added, out.Env...)
	for k, v := range patch.Resources.Limits {
		if out.Resources.Limits == nil {
			out.Resources.Limits = corev1.ResourceList{}
		}
		out.Resources.Limits[k] = v
	}
	return out
}

// gpuWorker is the worker container as the gpu overlay deploys it.
func gpuWorker(t *testing.T) corev1.Container {
	t.Helper()
	p := gpuPatch(t, "ringtrain-worker", "worker")
	if p == nil {
		t.Fatal("gpu/: no patch of the worker container")
	}
	return mergeContainer(t, statefulSet(t, base(t), "ringtrain-worker").Spec.Template.Spec.Containers[0], *p)
}

// envValue returns the value of the container's variable name.
func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// TestGPUOverlay: the workers of the overlay run the GPU image, ask for one
// GPU and compute on it (RINGTRAIN_DEVICE, ringtrain's variable for
// --device, names GPU 0: the only GPU the pod sees); the base's command and
// environment are kept; the coordinator is left alone (the GPU binary does
// not start without a GPU, and the coordinator computes nothing).
func TestGPUOverlay(t *testing.T) {
	w := gpuWorker(t)
	if w.Image != gpuImage {
		t.Errorf("gpu/: worker image %q, want %s (make image-gpu)", w.Image, gpuImage)
	}
	if n := w.Resources.Limits["nvidia.com/gpu"]; n.Value() != 1 {
		t.Errorf("gpu/: worker limit nvidia.com/gpu %s, want 1", n.String())
	}
	dev, ok := envValue(w, "RINGTRAIN_DEVICE")
	if !ok || dev != gpuDevice {
		t.Errorf("gpu/: worker RINGTRAIN_DEVICE %q (set: %v), want %s", dev, ok, gpuDevice)
	} else if err := job.CheckDevice(dev); err != nil {
		t.Errorf("gpu/: RINGTRAIN_DEVICE: %v", err)
	}
	if _, given := flag(w.Command, "--device"); given {
		t.Error("gpu/: the worker command has --device, which wins over RINGTRAIN_DEVICE")
	}
	baseW := statefulSet(t, base(t), "ringtrain-worker").Spec.Template.Spec.Containers[0]
	for _, e := range baseW.Env {
		if !slices.ContainsFunc(w.Env, func(g corev1.EnvVar) bool { return reflect.DeepEqual(g, e) }) {
			t.Errorf("gpu/: the worker lost the base's variable %s", e.Name)
		}
	}
	if !slices.Equal(w.Command, baseW.Command) {
		t.Errorf("gpu/: worker command %v, want the base's %v", w.Command, baseW.Command)
	}
	if baseW.Image != cpuImage {
		t.Errorf("base: worker image %q, want %s", baseW.Image, cpuImage)
	}
	if p := gpuPatch(t, "ringtrain-coordinator", "coordinator"); p != nil {
		t.Errorf("gpu/: patches the coordinator container: %+v", *p)
	}
}

// TestKustomizeBuild renders the kustomizations with kubectl's kustomize
// (no cluster needed): each builds, the top one is exactly the base, the
// overlay's worker container is what mergeContainer models, the rest
// unchanged, and serve/ is its Service and Deployment as the test reads
// them.
func TestKustomizeBuild(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed: kustomize's own build not checked")
	}
	render := func(dir string) []doc {
		t.Helper()
		out, err := exec.Command("kubectl", "kustomize", dir).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
		}
		docs, err := decodeFile("kustomize "+dir, out)
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		return docs
	}
	top, gpu := render("."), render("gpu")
	if got, want := render("serve"), served(t); len(got) != len(want) {
		t.Errorf("kustomize serve: %d objects, want %d", len(got), len(want))
	} else {
		for i := range want {
			if !reflect.DeepEqual(got[i].obj, want[i].obj) && !reflect.DeepEqual(byKindName(got, want[i]), want[i].obj) {
				t.Errorf("kustomize serve: %s differs from serve/serve.yaml", want[i])
			}
		}
	}
	objs := base(t)
	if len(top) != len(objs) || len(gpu) != len(objs) {
		t.Errorf("kustomize built %d (.) and %d (gpu) objects, want the base's %d", len(top), len(gpu), len(objs))
	}
	for _, name := range []string{"ringtrain-coordinator", "ringtrain-worker"} {
		b := statefulSet(t, objs, name)
		if k := statefulSet(t, top, name); !reflect.DeepEqual(k.Spec, b.Spec) {
			t.Errorf("kustomize .: StatefulSet %s differs from base/", name)
		}
		g := statefulSet(t, gpu, name).Spec.Template.Spec
		switch name {
		case "ringtrain-coordinator":
			if !reflect.DeepEqual(statefulSet(t, gpu, name).Spec, b.Spec) {
				t.Errorf("kustomize gpu: the coordinator differs from base/")
			}
		case "ringtrain-worker":
			if want := gpuWorker(t); !reflect.DeepEqual(g.Containers[0], want) {
				t.Errorf("kustomize gpu: worker container\n%+v\nwant (mergeContainer)\n%+v", g.Containers[0], want)
			}
			if !slices.ContainsFunc(g.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == "nvidia.com/gpu" }) {
				t.Errorf("kustomize gpu: the workers do not tolerate the nvidia.com/gpu taint: %+v", g.Tolerations)
			}
		}
	}
}

// TestGPUWorkerCommand runs the overlay's worker (its command and its
// environment) against the coordinator on this machine, with the default
// binary: RINGTRAIN_DEVICE reaches the worker's device choice, which the
// default binary refuses, naming the GPU binary. In the GPU image the same
// choice opens GPU 0 (not testable here).
func TestGPUWorkerCommand(t *testing.T) {
	objs := base(t)
	w := gpuWorker(t)
	var env []string
	for _, e := range w.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startCoordinator(ctx, t, objs)
	p := c.startWorker(ctx, t, w, testutil.FreeAddr(t), env)
	const want = "this ringtrain binary has no GPU support"
	if !p.waitFor(ctx, want) {
		t.Fatalf("the GPU overlay's worker (env %v) did not ask for the GPU binary (%q):\n%s", env, want, p.output())
	}
	if out := p.output(); !strings.Contains(out, "make build-gpu") {
		t.Errorf("the refusal does not say how to get the GPU binary:\n%s", out)
	}
}

// byKindName returns the object of docs with d's kind and name, or nil.
func byKindName(docs []doc, d doc) any {
	for _, o := range docs {
		if o.meta.Kind == d.meta.Kind && o.objectMeta().Name == d.objectMeta().Name {
			return o.obj
		}
	}
	return nil
}
