package k8s

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// forContainers runs f for every container of every StatefulSet and
// Deployment of every kustomization (the training cluster and the server).
func forContainers(t *testing.T, f func(t *testing.T, w workload, c corev1.Container)) {
	for _, dir := range []string{".", "serve"} {
		for _, w := range workloads(deployed(t)[dir]) {
			for _, c := range slices.Concat(w.tmpl.Spec.InitContainers, w.tmpl.Spec.Containers) {
				t.Run(w.name+"/"+c.Name, func(t *testing.T) { f(t, w, c) })
			}
		}
	}
}

// TestContainers: image and command, resources, security context, probes
// and environment of every container.
func TestContainers(t *testing.T) {
	forContainers(t, func(t *testing.T, w workload, c corev1.Container) {
		ps := &w.tmpl.Spec
		if c.Image != "ringtrain:latest" || c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("image %s (%s), want ringtrain:latest, IfNotPresent", c.Image, c.ImagePullPolicy)
		}
		if len(c.Command) < 2 || c.Command[0] != "/ringtrain" || len(c.Args) > 0 {
			t.Errorf("command %q args %q: want the whole command line in command, starting /ringtrain VERB", c.Command, c.Args)
		}
		if v, _ := flag(c.Command, "--log-format"); v != "json" {
			t.Errorf("--log-format %q, want json", v)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
			if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
				t.Errorf("%s: request %s limit %s: want both set, request <= limit", r, req.String(), lim.String())
			}
		}
		if n, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			t.Errorf("the base asks for %s GPUs: GPUs belong in the gpu overlay", n.String())
		}
		sc, psc := c.SecurityContext, ps.SecurityContext
		if sc == nil || psc == nil {
			t.Fatal("want a pod and a container securityContext")
		}
		if !is(sc.RunAsNonRoot) || !is(psc.RunAsNonRoot) || eq(sc.RunAsUser) != 65534 || eq(psc.RunAsUser) != 65534 ||
			!is(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			is(sc.Privileged) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("securityContext: want runAsNonRoot, runAsUser 65534, readOnlyRootFilesystem, no privilege escalation, drop ALL; got pod %+v container %+v", psc, sc)
		}
		if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
			t.Error("automountServiceAccountToken: want false (ringtrain does not use the Kubernetes API)")
		}
		// A secret volume readable by its owner only (root) is readable by
		// the unprivileged user only through fsGroup's group read.
		for _, v := range ps.Volumes {
			if v.Secret == nil {
				continue
			}
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400 {
				t.Errorf("secret volume %s: defaultMode %v, want 0400", v.Name, v.Secret.DefaultMode)
			}
			if eq(psc.FSGroup) != 65534 {
				t.Errorf("secret volume %s is 0400: the pod needs fsGroup 65534 for user 65534 to read it", v.Name)
			}
		}
		checkProbe(t, c)
		checkEnv(t, c)
	})
}

func is(b *bool) bool { return b != nil && *b }

func eq(n *int64) int64 {
	if n == nil {
		return -1
	}
	return *n
}

// checkProbe: a readiness probe on a declared port, not the data plane's
// (its listener logs a warning for every connection that does not finish
// the handshake: a TCP probe would log one per period).
func checkProbe(t *testing.T, c corev1.Container) {
	p := c.ReadinessProbe
	if p == nil {
		t.Error("no readinessProbe")
		return
	}
	var port intstr.IntOrString
	switch {
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	default:
		t.Errorf("readinessProbe: want httpGet or tcpSocket, got %+v", p.ProbeHandler)
		return
	}
	i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool {
		return protocol(cp.Protocol) == corev1.ProtocolTCP && (cp.Name == port.StrVal || cp.ContainerPort == port.IntVal)
	})
	switch {
	case i < 0:
		t.Errorf("readinessProbe port %s is not a TCP container port", port.String())
	case c.Ports[i].Name == "data":
		t.Error("readinessProbe on the data port: every probe would log a refused data-plane connection")
	}
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkEnv: a training node's cluster secret comes from the secret (the
// server has none: it needs none), and every $(VAR) in the command is
// defined (Kubernetes leaves an undefined one as is).
func checkEnv(t *testing.T, c corev1.Container) {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	s, ok := env["RINGTRAIN_SECRET"]
	if !training(c.Command) {
		if ok {
			t.Error("env RINGTRAIN_SECRET: only the training nodes need the cluster secret")
		}
	} else if !ok || s.ValueFrom == nil || s.ValueFrom.SecretKeyRef == nil ||
		s.ValueFrom.SecretKeyRef.Name != "ringtrain-secret" || s.ValueFrom.SecretKeyRef.Key != "secret" {
		t.Error("env RINGTRAIN_SECRET: want valueFrom secretKeyRef ringtrain-secret/secret")
	}
	for _, a := range c.Command {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if _, ok := env[m[1]]; !ok {
				t.Errorf("command uses $(%s), which is not in env", m[1])
			}
		}
	}
}

// listenFlags maps the ringtrain flags that open a port to the container
// port names they must match.
var listenFlags = map[string][]string{
	"--grpc-addr":    {"grpc"},
	"--data-addr":    {"data"},
	"--metrics-addr": {"metrics"},
	"--gossip-port":  {"gossip", "gossip-udp"},
	"--addr":         {"http"}, // serve
}

// TestListenFlagsMatchPorts: every port a process listens on is a declared
// container port with the same number, and every declared port is one.
func TestListenFlagsMatchPorts(t *testing.T) {
	forContainers(t, func(t *testing.T, _ workload, c corev1.Container) {
		covered := map[string]bool{}
		for f, names := range listenFlags {
			v, ok := flag(c.Command, f)
			if !ok {
				continue
			}
			n, ok := port(v)
			if !ok {
				t.Errorf("%s %q: want a fixed port", f, v)
				continue
			}
			if host, _, err := net.SplitHostPort(v); err == nil && host != "0.0.0.0" {
				t.Errorf("%s %q: listen on 0.0.0.0 so the pod IP and port-forward reach it", f, v)
			}
			for _, name := range names {
				covered[name] = true
				if cp := namedPort(c, name); cp == nil || cp.ContainerPort != n {
					t.Errorf("%s %s: want a container port %q = %d, got %+v", f, v, name, n, cp)
				}
			}
		}
		for _, cp := range c.Ports {
			if !covered[cp.Name] {
				t.Errorf("container port %s (%d) is opened by no flag in the command", cp.Name, cp.ContainerPort)
			}
		}
	})
}

// TestPathFlagsAreMounted: --config is the job config map, --tls-dir the
// TLS secret, --run-dir a writable claim (the root file system is
// read-only).
func TestPathFlagsAreMounted(t *testing.T) {
	forContainers(t, func(t *testing.T, w workload, c corev1.Container) {
		ps := &w.tmpl.Spec
		check := func(f string, ok func(m *corev1.VolumeMount, v *corev1.Volume) bool, want string) {
			p, set := flag(c.Command, f)
			if !set {
				return
			}
			m := mountFor(c, p)
			var v *corev1.Volume
			if m != nil {
				v = volume(ps, m.Name)
			}
			if m == nil || !ok(m, v) {
				t.Errorf("%s %s: want it on %s", f, p, want)
			}
		}
		check("--config", func(m *corev1.VolumeMount, v *corev1.Volume) bool {
			return v != nil && v.ConfigMap != nil && v.ConfigMap.Name == "ringtrain-job" && m.SubPath == "job.yaml"
		}, "config map ringtrain-job's job.yaml (subPath)")
		check("--tls-dir", func(m *corev1.VolumeMount, v *corev1.Volume) bool {
			return v != nil && v.Secret != nil && v.Secret.SecretName == "ringtrain-tls"
		}, "secret ringtrain-tls")
		check("--run-dir", func(m *corev1.VolumeMount, v *corev1.Volume) bool {
			return v == nil && !m.ReadOnly && slices.ContainsFunc(w.claims,
				func(p corev1.PersistentVolumeClaim) bool { return p.Name == m.Name })
		}, "a writable claim template")
		if _, ok := flag(c.Command, "--tls-dir"); !ok && training(c.Command) {
			t.Error("no --tls-dir: every node talks TLS")
		}
		if c.Command[1] == "coordinator" {
			for _, f := range []string{"--config", "--run-dir", "--auto-resume"} {
				if _, ok := flag(c.Command, f); !ok {
					t.Errorf("coordinator: no %s", f)
				}
			}
			if n := c.Resources.Requests[corev1.ResourceMemory]; n.Cmp(resource.MustParse("256Mi")) < 0 {
				t.Errorf("coordinator: memory request %s is too small", n.String())
			}
		}
	})
}

// TestWorkersJoinTheCoordinator: --join is the coordinator Service's grpc
// port, which reaches the port the coordinator serves gRPC on, and the TLS
// server name is one of the certificate's names.
func TestWorkersJoinTheCoordinator(t *testing.T) {
	objs := base(t)
	coord := statefulSet(t, objs, "ringtrain-coordinator")
	w := statefulSet(t, objs, "ringtrain-worker")
	c := w.Spec.Template.Spec.Containers[0]
	join, _ := flag(c.Command, "--join")
	host, p, err := net.SplitHostPort(join)
	if err != nil {
		t.Fatalf("--join %q: %v", join, err)
	}
	var svc *corev1.Service
	for _, s := range all[corev1.Service](objs) {
		for _, n := range []string{s.Name, s.Name + "." + namespace, s.Name + "." + namespace + ".svc", s.Name + "." + namespace + ".svc.cluster.local"} {
			if host == n {
				svc = s
			}
		}
	}
	if svc == nil || svc.Spec.ClusterIP == corev1.ClusterIPNone || !selects(svc.Spec.Selector, coord.Spec.Template.Labels) {
		t.Fatalf("--join host %s: want a (non-headless) Service selecting the coordinator", host)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return fmt.Sprint(sp.Port) == p })
	if i < 0 || svc.Spec.Ports[i].Name != "grpc" {
		t.Fatalf("--join port %s: not the grpc port of Service %s", p, svc.Name)
	}
	cp := target(svc.Spec.Ports[i], &coord.Spec.Template.Spec)
	addr, _ := flag(coord.Spec.Template.Spec.Containers[0].Command, "--grpc-addr")
	if n, _ := port(addr); cp == nil || cp.ContainerPort != n {
		t.Errorf("Service %s port %s reaches %+v, the coordinator serves gRPC on %s", svc.Name, p, cp, addr)
	}
	hosts := certHosts(t)
	name, _ := flag(c.Command, "--tls-server-name")
	for _, h := range []string{host, name} {
		if !slices.Contains(hosts, h) {
			t.Errorf("%q is not among the certificate hosts in README.md (%v)", h, hosts)
		}
	}
	if v, _ := flag(c.Command, "--advertise-host"); v != "$(POD_IP)" {
		t.Errorf("--advertise-host %q, want $(POD_IP)", v)
	}
	env := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_IP" })
	if env < 0 || c.Env[env].ValueFrom == nil || c.Env[env].ValueFrom.FieldRef == nil || c.Env[env].ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Error("env POD_IP: want the downward API's status.podIP")
	}
}
