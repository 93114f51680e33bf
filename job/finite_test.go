package job

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// floatKeys lists the YAML key path of every float field of t, walking the
// type (not a value), so a float key added to Spec is found here even when
// the default leaves it zero. Kinds that could hide a float from this walk
// fail the test: extend it (and nonFiniteKeys' walk) when the spec grows one.
func floatKeys(t *testing.T, typ reflect.Type, path []string) [][]string {
	t.Helper()
	switch typ.Kind() {
	case reflect.Float32, reflect.Float64:
		return [][]string{slices.Clone(path)}
	case reflect.Struct:
		var out [][]string
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s.%s has no yaml key: extend this test", typ, f.Name)
			}
			out = append(out, floatKeys(t, f.Type, append(path, name))...)
		}
		return out
	case reflect.Slice:
		switch typ.Elem().Kind() {
		case reflect.Int, reflect.String:
			return nil
		case reflect.Struct: // a list of objects: the float keys of its first element
			if len(path) == 0 {
				break
			}
			last := len(path) - 1
			item := append(slices.Clone(path[:last]), path[last]+"[0]")
			return floatKeys(t, typ.Elem(), item)
		}
		t.Fatalf("%s: a slice of %s: extend this test", strings.Join(path, "."), typ.Elem())
	case reflect.Pointer:
		switch typ.Elem().Kind() {
		case reflect.Bool, reflect.Int, reflect.String: // an optional scalar (default when absent)
			return nil
		}
		t.Fatalf("%s: a pointer to %s: extend this test", strings.Join(path, "."), typ.Elem())
	case reflect.Map, reflect.Interface, reflect.Array:
		t.Fatalf("%s: a %s: extend this test", strings.Join(path, "."), typ.Kind())
	}
	return nil
}

// listContext is, for a list of objects (a path element "key[0]"), what
// makes the rest of a document setting one float in its first element
// valid: keys next to the list and keys of the element.
var listContext = map[string]struct{ parent, item string }{
	"model.layers": {parent: "kind: layers, ", item: "type: dropout, "},
}

// yamlAt is a YAML document that sets the key path to value.
func yamlAt(path []string, value string) string {
	doc := value
	for i := len(path) - 1; i >= 0; i-- {
		if name, ok := strings.CutSuffix(path[i], "[0]"); ok {
			ctx := listContext[strings.Join(append(slices.Clone(path[:i]), name), ".")]
			doc = "{" + ctx.parent + name + ": [{" + ctx.item + strings.TrimPrefix(doc, "{") + "]}"
			continue
		}
		doc = "{" + path[i] + ": " + doc + "}"
	}
	return doc
}

// errorKeys returns the key each of Validate's errors names, in order.
func errorKeys(t *testing.T, err error) []string {
	t.Helper()
	joined, ok := errors.Unwrap(err).(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %q does not wrap Validate's list", err)
	}
	var keys []string
	for _, e := range joined.Unwrap() {
		key, _, _ := strings.Cut(e.Error(), ":")
		keys = append(keys, key)
	}
	return keys
}

// TestEveryFloatKeyMustBeFinite: NaN and ±Inf in any float key of the job,
// found by walking Spec's type, are refused at parse time with exactly one
// error that names the key.
func TestEveryFloatKeyMustBeFinite(t *testing.T) {
	keys := floatKeys(t, reflect.TypeFor[Spec](), nil)
	var dotted []string
	for _, k := range keys {
		dotted = append(dotted, strings.Join(k, "."))
	}
	// The walk must see the float keys known today (it cannot pass vacuously).
	for _, known := range []string{"data.synthetic.noise", "train.optimizer.momentum", "train.optimizer.beta1",
		"train.optimizer.beta2", "train.optimizer.eps", "train.optimizer.weight_decay", "train.optimizer.alpha",
		"train.lr.base", "train.lr.gamma", "train.lr.min", "train.clip_norm", "cluster.link_mbps", "model.layers[0].p"} {
		if !slices.Contains(dotted, known) {
			t.Errorf("float keys %v lack %s", dotted, known)
		}
	}
	for i, k := range keys {
		for _, v := range []string{".nan", ".inf", "-.inf"} {
			doc := yamlAt(k, v)
			_, err := Parse([]byte(doc))
			if err == nil {
				t.Errorf("%s: accepted", doc)
				continue
			}
			want := dotted[i] + ": must be a finite number"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q, want it to contain %q", doc, err, want)
			}
			if got := errorKeys(t, err); !slices.Equal(got, []string{dotted[i]}) {
				t.Errorf("%s: errors for %v, want one for %s: %v", doc, got, dotted[i], err)
			}
		}
	}
}

// TestOneErrorPerMistake: each bad value is reported once, under its own
// key, and no valid key is blamed for another's mistake.
func TestOneErrorPerMistake(t *testing.T) {
	csv := "data: {source: csv, path: a.csv, test_path: b.csv, csv: {classes: %s}}"
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"train: {lr: {base: -0.01}}", []string{"train.lr.base"}},
		{"train: {lr: {base: 0}}", []string{"train.lr.base"}},
		{"train: {lr: {base: 11, min: 1}}", []string{"train.lr.base"}},
		{"train: {lr: {base: .inf}}", []string{"train.lr.base"}},
		{"train: {lr: {base: 0.1, min: 0.2}}", []string{"train.lr.min"}},
		{"train: {lr: {min: -1}}", []string{"train.lr.min"}},
		{"train: {lr: {kind: step}}", []string{"train.lr.step_every"}},
		{"train: {lr: {kind: step, step_every: 10, gamma: 2}}", []string{"train.lr.gamma"}},
		{"train: {lr: {kind: step, gamma: .nan}}", []string{"train.lr.gamma", "train.lr.step_every"}},
		{"cluster: {link_mbps: -1, link_latency: -1s}", []string{"cluster.link_mbps", "cluster.link_latency"}},
		{"train: {optimizer: {beta1: .nan, beta2: 1}}", []string{"train.optimizer.beta1", "train.optimizer.beta2"}},
		{strings.Replace(csv, "%s", "1", 1), []string{"data.csv.classes"}},
		{strings.Replace(csv, "%s", "65537", 1), []string{"data.csv.classes"}},
		{strings.Replace(csv, "%s", "-2", 1), []string{"data.csv.classes"}},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil {
			t.Errorf("%s: accepted", tc.yaml)
			continue
		}
		if got := errorKeys(t, err); !slices.Equal(got, tc.want) {
			t.Errorf("%s: errors for %v, want %v: %v", tc.yaml, got, tc.want, err)
		}
	}
	for _, ok := range []string{strings.Replace(csv, "%s", "0", 1), strings.Replace(csv, "%s", "65536", 1),
		"train: {lr: {base: 10, min: 10}}", "cluster: {link_mbps: 100, link_latency: 1ms}"} {
		if _, err := Parse([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
