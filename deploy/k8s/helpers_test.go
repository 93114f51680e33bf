package k8s

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const namespace = "ringtrain"

// userCreated are the secrets the user creates with kubectl (README.md),
// with the keys the pods use. Nothing else may be missing from the
// manifests.
var userCreated = map[string][]string{
	"ringtrain-secret":      {"secret"},
	"ringtrain-tls":         {"ca.crt", "node.crt", "node.key"},
	"ringtrain-serve-token": {"token"}, // optional (serve/serve.yaml)
}

// all returns the objects of kind K among docs.
func all[K any](docs []doc) []*K {
	var out []*K
	for _, d := range docs {
		if o, ok := d.obj.(*K); ok {
			out = append(out, o)
		}
	}
	return out
}

// byName returns the object of kind K named name, or nil.
func byName[K any](docs []doc, name string) *K {
	for _, d := range docs {
		if o, ok := d.obj.(*K); ok && d.objectMeta().Name == name {
			return o
		}
	}
	return nil
}

// base loads the tree and returns what kubectl apply -k deploy/k8s
// creates.
func base(t *testing.T) []doc {
	t.Helper()
	return mustLoad(t).objects(".")
}

// served loads the tree and returns what kubectl apply -k
// deploy/k8s/serve creates.
func served(t *testing.T) []doc {
	t.Helper()
	return mustLoad(t).objects("serve")
}

// workload is a StatefulSet or a Deployment: what makes pods.
type workload struct {
	kind, name string
	tmpl       *corev1.PodTemplateSpec
	claims     []corev1.PersistentVolumeClaim // a StatefulSet's claim templates
}

// workloads returns the StatefulSets and Deployments among objs.
func workloads(objs []doc) []workload {
	var out []workload
	for _, d := range objs {
		switch o := d.obj.(type) {
		case *appsv1.StatefulSet:
			out = append(out, workload{"StatefulSet", o.Name, &o.Spec.Template, o.Spec.VolumeClaimTemplates})
		case *appsv1.Deployment:
			out = append(out, workload{"Deployment", o.Name, &o.Spec.Template, nil})
		}
	}
	return out
}

// deployed is every kustomization's objects that make pods or route to
// them, by directory: the training cluster (.) and the server (serve).
func deployed(t *testing.T) map[string][]doc {
	t.Helper()
	tr := mustLoad(t)
	return map[string][]doc{".": tr.objects("."), "serve": tr.objects("serve")}
}

// training reports whether a container command is a training cluster
// node (coordinator or worker), which needs the cluster secret and TLS.
func training(cmd []string) bool {
	return len(cmd) > 1 && (cmd[1] == "coordinator" || cmd[1] == "worker")
}

// statefulSet returns the named StatefulSet or fails the test.
func statefulSet(t *testing.T, objs []doc, name string) *appsv1.StatefulSet {
	t.Helper()
	s := byName[appsv1.StatefulSet](objs, name)
	if s == nil {
		t.Fatalf("no StatefulSet %s", name)
	}
	return s
}

// selects reports whether a Service selector selects pods with labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// flag returns the value of --name in a command line.
func flag(cmd []string, name string) (string, bool) {
	for i, a := range cmd {
		if a == name && i+1 < len(cmd) && !strings.HasPrefix(cmd[i+1], "--") {
			return cmd[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name {
			return "", true
		}
	}
	return "", false
}

// flagNames returns every --flag in a command line.
func flagNames(cmd []string) []string {
	var out []string
	for _, a := range cmd {
		if strings.HasPrefix(a, "--") {
			name, _, _ := strings.Cut(a, "=")
			out = append(out, name)
		}
	}
	return out
}

// port returns the port of HOST:PORT, or of a bare port.
func port(v string) (int32, bool) {
	if _, p, err := net.SplitHostPort(v); err == nil {
		v = p
	}
	n, err := strconv.ParseInt(v, 10, 32)
	return int32(n), err == nil && n > 0
}

func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// target resolves a Service port to the container port it reaches in a
// pod, or nil.
func target(sp corev1.ServicePort, ps *corev1.PodSpec) *corev1.ContainerPort {
	for _, c := range ps.Containers {
		for i, cp := range c.Ports {
			if protocol(cp.Protocol) != protocol(sp.Protocol) {
				continue
			}
			switch {
			case sp.TargetPort.StrVal != "":
				if cp.Name == sp.TargetPort.StrVal {
					return &c.Ports[i]
				}
			case sp.TargetPort.IntVal != 0:
				if cp.ContainerPort == sp.TargetPort.IntVal {
					return &c.Ports[i]
				}
			case cp.ContainerPort == sp.Port:
				return &c.Ports[i]
			}
		}
	}
	return nil
}

// namedPort returns the container port called name, or nil.
func namedPort(c corev1.Container, name string) *corev1.ContainerPort {
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Ports[i]
}

// mountFor returns the mount holding path in c (the longest mountPath
// prefix), or nil.
func mountFor(c corev1.Container, path string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			if best == nil || len(m.MountPath) > len(best.MountPath) {
				best = &c.VolumeMounts[i]
			}
		}
	}
	return best
}

// volume returns the pod volume called name, or nil.
func volume(ps *corev1.PodSpec, name string) *corev1.Volume {
	i := slices.IndexFunc(ps.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		return nil
	}
	return &ps.Volumes[i]
}
