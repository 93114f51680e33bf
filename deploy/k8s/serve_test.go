package k8s

// serve/: the Deployment and Service of `ringtrain serve`, checked against
// the training cluster whose run it serves, and run on this machine against
// a run the base's own coordinator and workers are training.

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ringtrain/ringtrain/job"
)

// serveShutdownSlack is what serve's drain waits beyond --timeout for the
// requests in flight (serve.Server.Serve: Shutdown gets Timeout + 5 s).
// TestServeFollowsTheRun measures the drain itself.
const serveShutdownSlack = 5 * time.Second

// probePaths are the serve endpoints each probe must GET.
var probePaths = map[string]string{
	"startupProbe":   "/v2/health/live",
	"livenessProbe":  "/v2/health/live",
	"readinessProbe": "/v2/health/ready",
}

// serveDeployment returns the server's Deployment and its one container,
// or fails the test.
func serveDeployment(t *testing.T) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := byName[appsv1.Deployment](served(t), "ringtrain-serve")
	if d == nil {
		t.Fatal("serve/: no Deployment ringtrain-serve")
	}
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("Deployment ringtrain-serve: %d containers, want 1", n)
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// modelArg is the MODEL_FILE|RUN_DIR argument of a serve command line.
func modelArg(t *testing.T, cmd []string) string {
	t.Helper()
	if len(cmd) < 3 || cmd[1] != "serve" || cmd[2] == "" || cmd[2][0] == '-' {
		t.Fatalf("command %q: want /ringtrain serve MODEL ...", cmd)
	}
	return cmd[2]
}

// probes returns the container's probes by field name.
func probes(c corev1.Container) map[string]*corev1.Probe {
	return map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe}
}

// TestServeDeployment: the Deployment serves the coordinator's run
// directory from the coordinator's own claim (read-only, following LATEST),
// under the job's name, on the coordinator's node (the claim is
// ReadWriteOnce); its probes GET serve's health endpoints on the port serve
// listens on; a terminating pod has time to drain; the Service routes port
// 8080 (http) to it; the token is optional.
func TestServeDeployment(t *testing.T) {
	d, c := serveDeployment(t)
	ps := &d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the template labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v: want at least 2 (one keeps serving while the other restarts)", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy %+v: want RollingUpdate with maxUnavailable 0", d.Spec.Strategy)
	}

	// The model: the coordinator's --run-dir, on its claim, read-only.
	objs := base(t)
	coord := statefulSet(t, objs, "ringtrain-coordinator")
	coordC := coord.Spec.Template.Spec.Containers[0]
	runDir, _ := flag(coordC.Command, "--run-dir")
	cm := mountFor(coordC, runDir)
	model := modelArg(t, c.Command)
	m := mountFor(c, model)
	if cm == nil || m == nil {
		t.Fatalf("the coordinator's --run-dir %s or the served %s is on no volume", runDir, model)
	}
	wantClaim := cm.Name + "-" + coord.Name + "-0" // StatefulSet claims are TEMPLATE-STATEFULSET-ORDINAL
	v := volume(ps, m.Name)
	if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != wantClaim {
		t.Errorf("%s is on volume %+v, want the coordinator's claim %s", model, v, wantClaim)
	} else if !v.PersistentVolumeClaim.ReadOnly || !m.ReadOnly {
		t.Errorf("claim %s: mount it read-only (volume readOnly %v, mount readOnly %v): only the coordinator writes the run", wantClaim, v.PersistentVolumeClaim.ReadOnly, m.ReadOnly)
	}
	relServe, err1 := filepath.Rel(m.MountPath, model)
	relCoord, err2 := filepath.Rel(cm.MountPath, runDir)
	if err1 != nil || err2 != nil || relServe != relCoord {
		t.Errorf("serves %s (%s on the claim), the coordinator's run is %s (%s on the claim)", model, relServe, runDir, relCoord)
	}
	if _, ok := flag(c.Command, "--step"); ok {
		t.Error("--step pins one checkpoint: the server would not follow the run's LATEST")
	}

	// On the coordinator's node: the claim attaches to one node at a time.
	var aff []corev1.PodAffinityTerm
	if a := ps.Affinity; a != nil && a.PodAffinity != nil {
		aff = a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	if !slices.ContainsFunc(aff, func(p corev1.PodAffinityTerm) bool {
		s, err := metav1.LabelSelectorAsSelector(p.LabelSelector)
		return err == nil && !s.Empty() && s.Matches(labels.Set(coord.Spec.Template.Labels)) &&
			p.TopologyKey == "kubernetes.io/hostname" && (len(p.Namespaces) == 0 || slices.Contains(p.Namespaces, namespace))
	}) {
		t.Errorf("affinity %+v: want a required pod affinity to the coordinator's pods by kubernetes.io/hostname (its claim is %v)",
			ps.Affinity, coord.Spec.VolumeClaimTemplates[0].Spec.AccessModes)
	}

	// The model's name is the job's.
	cmap := byName[corev1.ConfigMap](objs, "ringtrain-job")
	spec, err := job.Parse([]byte(cmap.Data["job.yaml"]))
	if err != nil {
		t.Fatalf("job.yaml: %v", err)
	}
	if name, _ := flag(c.Command, "--name"); name != spec.Name {
		t.Errorf("--name %q, want the job's name %q (the URL /v2/models/NAME names what is trained)", name, spec.Name)
	}

	// Probes: serve's health endpoints, on the port --addr opens, plain
	// HTTP unless serve has a certificate.
	addr, _ := flag(c.Command, "--addr")
	listen, ok := port(addr)
	if !ok {
		t.Fatalf("--addr %q: want a fixed port", addr)
	}
	scheme := corev1.URISchemeHTTP
	if _, tls := flag(c.Command, "--tls-cert"); tls {
		scheme = corev1.URISchemeHTTPS
	}
	for field, p := range probes(c) {
		want := probePaths[field]
		switch {
		case p == nil:
			t.Errorf("no %s (GET %s)", field, want)
		case p.HTTPGet == nil || p.HTTPGet.Path != want:
			t.Errorf("%s %+v: want httpGet %s", field, p.ProbeHandler, want)
		default:
			cp := namedPort(c, p.HTTPGet.Port.StrVal)
			if p.HTTPGet.Port.StrVal == "" || cp == nil || cp.ContainerPort != listen {
				t.Errorf("%s port %s: want the named container port serve listens on (%s)", field, p.HTTPGet.Port.String(), addr)
			}
			if s := p.HTTPGet.Scheme; s != scheme && !(s == "" && scheme == corev1.URISchemeHTTP) {
				t.Errorf("%s scheme %s, want %s", field, s, scheme)
			}
		}
	}

	// Termination: preStop's sleep, then SIGTERM and the drain, all within
	// the grace period.
	timeout := 5 * time.Second // serve's default
	if v, ok := flag(c.Command, "--timeout"); ok {
		if timeout, err = time.ParseDuration(v); err != nil {
			t.Fatalf("--timeout %q: %v", v, err)
		}
	}
	var sleep time.Duration
	if l := c.Lifecycle; l != nil && l.PreStop != nil {
		if l.PreStop.Sleep == nil {
			t.Errorf("preStop %+v: the image has no shell or sleep binary; use the sleep action", l.PreStop)
		} else {
			sleep = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		}
	}
	if sleep == 0 {
		t.Error("no preStop sleep: kube-proxy elsewhere may still route to a pod already draining")
	}
	need := sleep + timeout + serveShutdownSlack
	if g := ps.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds %d (-1: unset): want more than preStop %v + --timeout %v + serve's %v", eq(g), sleep, timeout, serveShutdownSlack)
	}

	// Resources: room for the model and a batch.
	if n := c.Resources.Requests[corev1.ResourceMemory]; n.Cmp(resource.MustParse("128Mi")) < 0 {
		t.Errorf("memory request %s is too small", n.String())
	}

	// The token: optional, from the documented secret.
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "RINGTRAIN_SERVE_TOKEN" })
	if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil {
		t.Error("env RINGTRAIN_SERVE_TOKEN: want valueFrom secretKeyRef ringtrain-serve-token/token")
	} else if r := c.Env[i].ValueFrom.SecretKeyRef; r.Name != "ringtrain-serve-token" || r.Key != "token" || r.Optional == nil || !*r.Optional {
		t.Errorf("env RINGTRAIN_SERVE_TOKEN: %+v, want ringtrain-serve-token/token, optional (the pod starts without it)", r)
	}

	// The Service: ClusterIP, port 8080 named http, to serve's port.
	svc := byName[corev1.Service](served(t), "ringtrain-serve")
	if svc == nil {
		t.Fatal("serve/: no Service ringtrain-serve")
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP == corev1.ClusterIPNone || !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service ringtrain-serve: type %q clusterIP %q selector %v: want a ClusterIP Service selecting the server's pods", svc.Spec.Type, svc.Spec.ClusterIP, svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 8080 {
		t.Fatalf("Service ringtrain-serve ports %+v: want one, 8080 named http", svc.Spec.Ports)
	}
	if cp := target(svc.Spec.Ports[0], ps); cp == nil || cp.ContainerPort != listen {
		t.Errorf("Service ringtrain-serve port 8080 reaches %+v, serve listens on %s", cp, addr)
	}
	// Selecting no training pod: the Service must not send requests there.
	for _, w := range workloads(objs) {
		if selects(svc.Spec.Selector, w.tmpl.Labels) {
			t.Errorf("Service ringtrain-serve also selects the pods of %s", w.name)
		}
	}
}
