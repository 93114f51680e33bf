package k8s

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestServicesSelectPods: every Service selects the pods of a StatefulSet
// or Deployment of its kustomization and every port it exposes exists,
// with its protocol, in those pods.
func TestServicesSelectPods(t *testing.T) {
	for _, objs := range deployed(t) {
		servicesSelectPods(t, objs)
	}
}

func servicesSelectPods(t *testing.T, objs []doc) {
	for _, s := range all[corev1.Service](objs) {
		var matched []workload
		for _, w := range workloads(objs) {
			if selects(s.Spec.Selector, w.tmpl.Labels) {
				matched = append(matched, w)
			}
		}
		if len(matched) == 0 {
			t.Errorf("Service %s: selector %v selects no pod template", s.Name, s.Spec.Selector)
		}
		names := map[string]bool{}
		for _, sp := range s.Spec.Ports {
			if sp.Name == "" || names[sp.Name] {
				t.Errorf("Service %s: port %d needs a unique name", s.Name, sp.Port)
			}
			names[sp.Name] = true
			for _, w := range matched {
				if target(sp, &w.tmpl.Spec) == nil {
					t.Errorf("Service %s port %s (%d/%s, targetPort %s): no such container port in %s",
						s.Name, sp.Name, sp.Port, protocol(sp.Protocol), sp.TargetPort.String(), w.name)
				}
			}
		}
	}
}

// TestStatefulSets: selectors match their templates, serviceName is an
// existing headless Service selecting the pods, and the specifics asked for.
func TestStatefulSets(t *testing.T) {
	objs := base(t)
	for _, sts := range all[appsv1.StatefulSet](objs) {
		sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
			t.Errorf("StatefulSet %s: selector %v does not match the template labels %v (%v)", sts.Name, sts.Spec.Selector, sts.Spec.Template.Labels, err)
		}
		svc := byName[corev1.Service](objs, sts.Spec.ServiceName)
		switch {
		case svc == nil:
			t.Errorf("StatefulSet %s: serviceName %q is not a Service here", sts.Name, sts.Spec.ServiceName)
		case svc.Spec.ClusterIP != corev1.ClusterIPNone:
			t.Errorf("StatefulSet %s: serviceName %s is not headless (clusterIP: None)", sts.Name, svc.Name)
		case !selects(svc.Spec.Selector, sts.Spec.Template.Labels):
			t.Errorf("StatefulSet %s: its Service %s does not select its pods", sts.Name, svc.Name)
		}
	}
	coord := statefulSet(t, objs, "ringtrain-coordinator")
	if coord.Spec.Replicas == nil || *coord.Spec.Replicas != 1 {
		t.Errorf("coordinator: replicas %v, want 1", coord.Spec.Replicas)
	}
	if len(coord.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("coordinator: %d volumeClaimTemplates, want 1", len(coord.Spec.VolumeClaimTemplates))
	}
	pvc := coord.Spec.VolumeClaimTemplates[0]
	storage := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if pvc.Name != "ringtrain-checkpoints" || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) ||
		storage.Cmp(resource.MustParse("1Gi")) < 0 {
		t.Errorf("coordinator claim: %s %v %s, want ringtrain-checkpoints, ReadWriteOnce, at least 1Gi", pvc.Name, pvc.Spec.AccessModes, storage.String())
	}
	w := statefulSet(t, objs, "ringtrain-worker")
	if w.Spec.Replicas == nil || *w.Spec.Replicas != 4 || w.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("workers: replicas %v, podManagementPolicy %q, want 4 and Parallel", w.Spec.Replicas, w.Spec.PodManagementPolicy)
	}
	if svc := byName[corev1.Service](objs, w.Spec.ServiceName); svc != nil && !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: publishNotReadyAddresses should be true (peers must resolve starting workers)", svc.Name)
	}
}

// ref is a secret or config map (and key; "" for all of it) a pod uses.
type ref struct{ kind, name, key, where string }

func podRefs(ps *corev1.PodSpec) []ref {
	var out []ref
	for _, c := range slices.Concat(ps.InitContainers, ps.Containers) {
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil && f.SecretKeyRef != nil {
				out = append(out, ref{"Secret", f.SecretKeyRef.Name, f.SecretKeyRef.Key, c.Name + " env " + e.Name})
			} else if f != nil && f.ConfigMapKeyRef != nil {
				out = append(out, ref{"ConfigMap", f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key, c.Name + " env " + e.Name})
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, ref{"Secret", e.SecretRef.Name, "", c.Name + " envFrom"})
			}
			if e.ConfigMapRef != nil {
				out = append(out, ref{"ConfigMap", e.ConfigMapRef.Name, "", c.Name + " envFrom"})
			}
		}
	}
	for _, v := range ps.Volumes {
		where := "volume " + v.Name
		switch {
		case v.Secret != nil:
			out = append(out, ref{"Secret", v.Secret.SecretName, "", where})
			for _, it := range v.Secret.Items {
				out = append(out, ref{"Secret", v.Secret.SecretName, it.Key, where})
			}
		case v.ConfigMap != nil:
			out = append(out, ref{"ConfigMap", v.ConfigMap.Name, "", where})
			for _, it := range v.ConfigMap.Items {
				out = append(out, ref{"ConfigMap", v.ConfigMap.Name, it.Key, where})
			}
		case v.Projected != nil:
			out = append(out, ref{"Projected", v.Name, "", where}) // not checked: extend podRefs
		}
	}
	return out
}

// TestReferencedConfigAndSecrets: every secret and config map (and key) a
// pod uses is defined in its kustomization or is a documented user-created
// secret.
func TestReferencedConfigAndSecrets(t *testing.T) {
	used := map[string]bool{}
	for _, objs := range deployed(t) {
		referencedConfigAndSecrets(t, objs, used)
	}
	for name := range userCreated {
		if !used[name] {
			t.Errorf("user-created secret %s is used by no pod: drop it from userCreated and the README", name)
		}
	}
}

func referencedConfigAndSecrets(t *testing.T, objs []doc, used map[string]bool) {
	for _, w := range workloads(objs) {
		for _, r := range podRefs(&w.tmpl.Spec) {
			where := fmt.Sprintf("%s %s: %s %s", w.name, r.where, r.kind, r.name)
			switch r.kind {
			case "ConfigMap":
				cm := byName[corev1.ConfigMap](objs, r.name)
				if cm == nil {
					t.Errorf("%s is not defined", where)
				} else if _, ok := cm.Data[r.key]; r.key != "" && !ok {
					t.Errorf("%s has no key %q", where, r.key)
				}
			case "Secret":
				used[r.name] = true
				keys, ok := userCreated[r.name]
				if !ok {
					t.Errorf("%s is neither defined nor a documented user-created secret", where)
				} else if r.key != "" && !slices.Contains(keys, r.key) {
					t.Errorf("%s: key %q is not among the documented keys %v", where, r.key, keys)
				}
			default:
				t.Errorf("%s: not checked by this test; extend podRefs", where)
			}
		}
	}
}

// TestVolumes: every mount has a volume (or claim template), every volume
// is mounted, configuration is mounted read-only, and a subPath names a
// projected file.
func TestVolumes(t *testing.T) {
	for _, objs := range deployed(t) {
		for _, w := range workloads(objs) {
			volumes(t, w)
		}
	}
}

func volumes(t *testing.T, w workload) {
	ps := &w.tmpl.Spec
	mounted := map[string]bool{}
	for _, c := range ps.Containers {
		for _, m := range c.VolumeMounts {
			mounted[m.Name] = true
			where := fmt.Sprintf("%s/%s mount %s", w.name, c.Name, m.MountPath)
			v := volume(ps, m.Name)
			if v == nil {
				if !slices.ContainsFunc(w.claims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == m.Name }) {
					t.Errorf("%s: no volume or claim template %q", where, m.Name)
				}
				continue
			}
			if (v.Secret != nil || v.ConfigMap != nil) && !m.ReadOnly {
				t.Errorf("%s: mount secrets and config maps readOnly", where)
			}
			if m.SubPath != "" && v.ConfigMap != nil && !slices.ContainsFunc(v.ConfigMap.Items, func(it corev1.KeyToPath) bool { return it.Path == m.SubPath }) {
				t.Errorf("%s: subPath %q is not an item path of config map %s", where, m.SubPath, v.ConfigMap.Name)
			}
		}
	}
	for _, v := range ps.Volumes {
		if !mounted[v.Name] {
			t.Errorf("%s: volume %s is mounted by no container", w.name, v.Name)
		}
	}
	for _, p := range w.claims {
		if !mounted[p.Name] {
			t.Errorf("%s: claim template %s is mounted by no container", w.name, p.Name)
		}
	}
}
