package k8s

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kustomization is the part of kustomize's Kustomization this directory
// uses, decoded strictly: a field kustomize knows but this struct does not
// fails the test, so new fields get a deliberate look (and a check).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// examples are manifests that are deliberately in no kustomization.
var examples = []string{"secret.example.yaml"}

// tree is every manifest under deploy/k8s, decoded.
type tree struct {
	kusts map[string]*kustomization // by directory (".", "base" or "gpu")
	files map[string][]doc          // every other YAML file, by path
	role  map[string]string         // file -> "resource", "patch" or "example"
}

// load walks deploy/k8s, decodes every YAML file strictly and checks that
// every file is a resource or patch of a kustomization, or an example.
func load() (*tree, error) {
	t := &tree{kusts: map[string]*kustomization{}, files: map[string][]doc{}, role: map[string]string{}}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		p = filepath.ToSlash(p)
		if path.Base(p) == "kustomization.yaml" {
			var k kustomization
			if err := strictUnmarshal(b, &k); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
				return fmt.Errorf("%s: apiVersion/kind %s/%s, want kustomize.config.k8s.io/v1beta1/Kustomization", p, k.APIVersion, k.Kind)
			}
			t.kusts[path.Dir(p)] = &k
			return nil
		}
		docs, err := decodeFile(p, b)
		if err != nil {
			return err
		}
		t.files[p] = docs
		return nil
	})
	if err != nil {
		return nil, err
	}
	setRole := func(file, role string) error {
		if _, ok := t.files[file]; !ok {
			return fmt.Errorf("%s is listed as a %s but is not a YAML manifest here", file, role)
		}
		if r, ok := t.role[file]; ok && r != role {
			return fmt.Errorf("%s is both a %s and a %s", file, r, role)
		}
		t.role[file] = role
		return nil
	}
	for dir, k := range t.kusts {
		for _, r := range k.Resources {
			p := path.Join(dir, r)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				if _, ok := t.kusts[p]; !ok {
					return nil, fmt.Errorf("%s/kustomization.yaml: resource %s is a directory without kustomization.yaml", dir, r)
				}
				continue
			}
			if err := setRole(p, "resource"); err != nil {
				return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
			}
		}
		for _, pt := range k.Patches {
			if err := setRole(path.Join(dir, pt.Path), "patch"); err != nil {
				return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
			}
		}
	}
	for _, e := range examples {
		if err := setRole(e, "example"); err != nil {
			return nil, err
		}
	}
	for f := range t.files {
		if _, ok := t.role[f]; !ok {
			return nil, fmt.Errorf("%s is in no kustomization and not a listed example", f)
		}
	}
	return t, nil
}

// objects returns the resources a kustomization directory deploys (before
// patches), following directory resources.
func (t *tree) objects(dir string) []doc {
	var out []doc
	for _, r := range t.kusts[dir].Resources {
		p := path.Join(dir, r)
		if _, ok := t.kusts[p]; ok {
			out = append(out, t.objects(p)...)
		} else {
			out = append(out, t.files[p]...)
		}
	}
	return out
}

// mustLoad loads the tree or fails the test.
func mustLoad(t *testing.T) *tree {
	t.Helper()
	tr, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.kusts["."]; !ok {
		t.Fatal("no kustomization.yaml in deploy/k8s")
	}
	return tr
}

func TestManifestsDecodeStrictly(t *testing.T) {
	tr := mustLoad(t)
	n := 0
	for f, docs := range tr.files {
		n += len(docs)
		for _, d := range docs {
			t.Logf("%s: %s %s", f, d.meta.Kind, d.objectMeta().Name)
		}
	}
	if n < 9 {
		t.Errorf("decoded %d documents, want at least 9 (namespace, config map, 4 services, 2 stateful sets, a deployment)", n)
	}
}

// The manifests are in base/ (its kustomization sets the namespace); the
// top directory's kustomization is base/ as it is, and gpu/ an overlay of
// base/. (kustomize refuses an overlay inside its own base, so gpu/ cannot
// be an overlay of the top directory: TestKustomizeBuild.)
func TestKustomization(t *testing.T) {
	tr := mustLoad(t)
	base, ok := tr.kusts["base"]
	if !ok {
		t.Fatal("no base/kustomization.yaml")
	}
	if base.Namespace != namespace {
		t.Errorf("base/kustomization.yaml: namespace %q, want %q", base.Namespace, namespace)
	}
	if len(base.Resources) == 0 || base.Resources[0] != "namespace.yaml" {
		t.Errorf("base/kustomization.yaml: list namespace.yaml first, got %v", base.Resources)
	}
	if top := tr.kusts["."]; !slices.Equal(top.Resources, []string{"base"}) || len(top.Patches) != 0 || top.Namespace != "" {
		t.Errorf("kustomization.yaml: want base/ as it is (resources [base], nothing else), got %+v", *top)
	}
	seen := map[string]string{}
	haveNS := false
	for _, d := range tr.objects(".") {
		m := d.objectMeta()
		id := d.meta.Kind + "/" + m.Name
		if prev, dup := seen[id]; dup {
			t.Errorf("%s: %s also defined in %s", d, id, prev)
		}
		seen[id] = d.String()
		switch d.meta.Kind {
		case "Namespace":
			haveNS = haveNS || m.Name == namespace
		case "Secret":
			t.Errorf("%s: a Secret in the kustomization commits secret material; document a kubectl create secret instead", d)
		default:
			// Set explicitly so that kubectl apply -f works without kustomize.
			if m.Namespace != namespace {
				t.Errorf("%s %s: metadata.namespace %q, want %q", d, m.Name, m.Namespace, namespace)
			}
		}
	}
	if !haveNS {
		t.Errorf("no Namespace %q among the resources", namespace)
	}
	if gpu, ok := tr.kusts["gpu"]; !ok {
		t.Error("no gpu/kustomization.yaml")
	} else if !slices.Equal(gpu.Resources, []string{"../base"}) || len(gpu.Patches) == 0 {
		t.Errorf("gpu/kustomization.yaml: want an overlay of ../base with patches, got resources %v, %d patches", gpu.Resources, len(gpu.Patches))
	}
	// serve/ stands alone (it reads the claim the base's coordinator makes):
	// applying it must not re-apply or change the training cluster.
	if sv, ok := tr.kusts["serve"]; !ok {
		t.Error("no serve/kustomization.yaml")
	} else {
		if sv.Namespace != namespace || len(sv.Patches) != 0 || slices.ContainsFunc(sv.Resources, func(r string) bool { return strings.Contains(r, "..") }) {
			t.Errorf("serve/kustomization.yaml: want its own resources in namespace %s, no patches, nothing of ../, got %+v", namespace, *sv)
		}
		for _, d := range tr.objects("serve") {
			if m := d.objectMeta(); m.Namespace != namespace {
				t.Errorf("%s %s: metadata.namespace %q, want %q", d, m.Name, m.Namespace, namespace)
			}
			if id := d.meta.Kind + "/" + d.objectMeta().Name; seen[id] != "" {
				t.Errorf("%s: %s is also in deploy/k8s (%s)", d, id, seen[id])
			}
		}
	}
	if len(tr.kusts) != 4 {
		t.Errorf("kustomizations in %v, want ., base, gpu and serve", slices.Sorted(maps.Keys(tr.kusts)))
	}
}
