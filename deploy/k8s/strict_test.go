package k8s

import (
	"os"
	"strings"
	"testing"
)

// goodStatefulSet decodes; each case below breaks it in one place.
const goodStatefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: x
spec:
  replicas: 2
  serviceName: x
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: x
          image: ringtrain:latest
          imagePullPolicy: IfNotPresent
          resources:
            requests: {cpu: 500m}
`

// TestStrictDecoderRejectsTypos proves that the decoder used for the
// manifests is strict: a mistyped field is an error, not silently dropped.
func TestStrictDecoderRejectsTypos(t *testing.T) {
	if _, _, err := decodeDoc([]byte(goodStatefulSet)); err != nil {
		t.Fatalf("the unbroken document fails: %v", err)
	}
	cases := []struct{ name, old, new string }{
		{"replica for replicas", "  replicas: 2", "  replica: 2"},
		{"contianers", "      containers:", "      contianers:"},
		{"imagePulPolicy", "imagePullPolicy", "imagePulPolicy"},
		{"wrong case", "serviceName", "servicename"},
		{"string for int", "replicas: 2", `replicas: "two"`},
		{"duplicate key", "  replicas: 2", "  replicas: 2\n  replicas: 3"},
		{"bad quantity", "cpu: 500m", "cpu: lots"},
		{"field at the wrong level", "  serviceName: x", "  serviceName: x\n  image: y"},
		{"unknown kind", "kind: StatefulSet", "kind: StatefulSets"},
		{"unknown apiVersion", "apiVersion: apps/v1", "apiVersion: apps/v2"},
		{"no kind", "kind: StatefulSet\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(goodStatefulSet, c.old) {
				t.Fatalf("%q is not in the document", c.old)
			}
			bad := strings.Replace(goodStatefulSet, c.old, c.new, 1)
			if _, _, err := decodeDoc([]byte(bad)); err == nil {
				t.Errorf("accepted:\n%s", bad)
			} else {
				t.Logf("rejected: %v", err)
			}
		})
	}
}

// TestStrictOnRealFiles breaks the real manifests the same way: the load
// must fail, so no check can pass over a typo in them.
func TestStrictOnRealFiles(t *testing.T) {
	cases := []struct{ file, old, new string }{
		{"base/workers.yaml", "  replicas: 4", "  replica: 4"},
		{"base/workers.yaml", "      containers:", "      contianers:"},
		{"base/coordinator.yaml", "  publishNotReadyAddresses: true", "  publishNotReadyAdresses: true"},
		{"base/coordinator.yaml", "kind: StatefulSet", "kind: Statefulset"},
		{"base/job-configmap.yaml", "data:\n  job.yaml", "datas:\n  job.yaml"},
		{"gpu/worker-gpu.yaml", "      tolerations:", "      toleration:"},
		{"serve/serve.yaml", "      terminationGracePeriodSeconds: 30", "      terminationGracePeriod: 30"},
		{"serve/serve.yaml", "          readinessProbe:", "          readynessProbe:"},
		{"serve/serve.yaml", "kind: Deployment", "kind: Deploymnet"},
		{"serve/serve.yaml", "sleep: {seconds: 5}", "sleep: {second: 5}"},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.new, func(t *testing.T) {
			b, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.old) {
				t.Fatalf("%q is not in %s", c.old, c.file)
			}
			if _, err := decodeFile(c.file, b); err != nil {
				t.Fatalf("the unbroken file fails: %v", err)
			}
			bad := strings.Replace(string(b), c.old, c.new, 1)
			if _, err := decodeFile(c.file, []byte(bad)); err == nil {
				t.Errorf("accepted %s with %q", c.file, c.new)
			}
		})
	}
	k, err := os.ReadFile("base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kz kustomization
	if err := strictUnmarshal(k, &kz); err != nil {
		t.Fatal(err)
	}
	if err := strictUnmarshal([]byte(strings.Replace(string(k), "resources:", "resource:", 1)), &kz); err == nil {
		t.Error("base/kustomization.yaml: accepted resource: for resources:")
	}
}
