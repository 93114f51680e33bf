package k8s

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// readme returns the lines of README.md, or fails the test.
func readme(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestUserCreatedSecretsAreDocumented: README.md creates every user-created
// secret with every key the pods use.
func TestUserCreatedSecretsAreDocumented(t *testing.T) {
	lines := readme(t)
	for name, keys := range userCreated {
		i := slices.IndexFunc(lines, func(l string) bool {
			return strings.Contains(l, "kubectl -n "+namespace+" create secret generic "+name+" ")
		})
		if i < 0 {
			t.Errorf("README.md: no kubectl -n %s create secret generic %s", namespace, name)
			continue
		}
		args := strings.Fields(lines[i])
		for _, k := range keys {
			ok := slices.ContainsFunc(args, func(a string) bool {
				if v, found := strings.CutPrefix(a, "--from-file="); found {
					return path.Base(v) == k || strings.HasPrefix(v, k+"=")
				}
				return strings.HasPrefix(a, "--from-literal="+k+"=")
			})
			if !ok {
				t.Errorf("README.md: %s is created without key %s: %s", name, k, lines[i])
			}
		}
	}
	// The example must not be a usable secret: ringtrain wants 16 bytes.
	ex := byName[corev1.Secret](mustLoad(t).files["secret.example.yaml"], "ringtrain-secret")
	if ex == nil || len(ex.StringData["secret"]) == 0 || len(ex.StringData["secret"]) >= 16 || len(ex.Data) > 0 {
		t.Errorf("secret.example.yaml: want ringtrain-secret with a stringData placeholder under 16 bytes, got %+v", ex)
	}
}

var hostsFlag = regexp.MustCompile(`ringtrain certs init .*--hosts[ =](\S+)`)

// certHosts returns the host names README.md puts in the certificate.
func certHosts(t *testing.T) []string {
	for _, l := range readme(t) {
		if m := hostsFlag.FindStringSubmatch(l); m != nil {
			return strings.Split(m[1], ",")
		}
	}
	t.Fatal("README.md: no ringtrain certs init --hosts line")
	return nil
}

// TestReadmeApplyList: the kubectl apply -f line in README.md applies the
// kustomization's resources, in its order.
func TestReadmeApplyList(t *testing.T) {
	var want []string
	for _, r := range mustLoad(t).kusts["base"].Resources {
		want = append(want, path.Join("base", r))
	}
	for _, l := range readme(t) {
		if !strings.HasPrefix(strings.TrimSpace(l), "kubectl apply -f deploy/k8s/") || strings.Count(l, " -f ") < 2 {
			continue
		}
		var got []string
		for _, f := range strings.Fields(l) {
			if p, ok := strings.CutPrefix(f, "deploy/k8s/"); ok {
				got = append(got, p)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("README.md applies %v, the kustomization %v", got, want)
		}
		return
	}
	t.Error("README.md: no kubectl apply -f line listing the manifests")
}
