package checkpoint_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// A store pinned to a model and a job after Open (the coordinator's case)
// commits only manifests of that model and job, and loads only checkpoints
// of that model; a refused commit leaves LATEST and the older checkpoints
// as they were. Real files (OSFS).
func TestExpectModelAndJob(t *testing.T) {
	s := newState(9, 64, "m", "v")
	otherModel := json.RawMessage(`{"kind":"cnn","sizes":[1]}`)
	tests := []struct {
		name   string
		pin    func(st *checkpoint.Store) error // after step 1 is committed
		edit   func(m *checkpoint.Manifest)     // the manifest of step 2
		want   error                            // Commit's error (nil: committed)
		naming string
	}{
		{"model pinned, same model", func(st *checkpoint.Store) error { return st.ExpectModel(testModel) }, func(*checkpoint.Manifest) {}, nil, ""},
		{"model pinned, another model", func(st *checkpoint.Store) error { return st.ExpectModel(testModel) },
			func(m *checkpoint.Manifest) { m.ModelSpec = otherModel }, checkpoint.ErrMismatch, `"kind":"cnn"`},
		{"job pinned, same job", func(st *checkpoint.Store) error { return st.ExpectJob("abc123") }, func(*checkpoint.Manifest) {}, nil, ""},
		{"job pinned, another job", func(st *checkpoint.Store) error { return st.ExpectJob("abc123") },
			func(m *checkpoint.Manifest) { m.JobHash = "def456" }, checkpoint.ErrMismatch, "job_hash def456"},
		{"job pinned, no job", func(st *checkpoint.Store) error { return st.ExpectJob("abc123") },
			func(m *checkpoint.Manifest) { m.JobHash = "" }, checkpoint.ErrMismatch, "the store commits job abc123"},
		{"nothing pinned, another model", func(*checkpoint.Store) error { return nil },
			func(m *checkpoint.Manifest) { m.ModelSpec = otherModel }, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openDir(t)
			mustSave(t, st, 1, 2, s)
			if err := tc.pin(st); err != nil {
				t.Fatalf("pin: %v", err)
			}
			infos, err := writeShards(t, st, 2, 2, s)
			must(t, err)
			m := manifestFor(2, 2, s, infos)
			tc.edit(&m)
			err = st.Commit(m)
			if !errors.Is(err, tc.want) || (tc.want != nil && !strings.Contains(err.Error(), tc.naming)) {
				t.Fatalf("Commit: %v, want %v naming %q", err, tc.want, tc.naming)
			}
			latest, _, lerr := st.Latest()
			wantLatest := int64(2)
			if tc.want != nil {
				wantLatest = 1
			}
			if lerr != nil || latest.Step != wantLatest {
				t.Fatalf("LATEST: step %d, %v; want %d", latest.Step, lerr, wantLatest)
			}
			if err := st.Verify(1); err != nil {
				t.Fatalf("the committed step 1: %v", err)
			}
		})
	}
}

// ExpectModel pins once: the same spec again (in another spacing) is a
// no-op, another is refused, and from then on a checkpoint of another
// model does not load.
func TestExpectModelPinsOnce(t *testing.T) {
	st := openDir(t)
	s := newState(10, 32)
	mustSave(t, st, 1, 1, s)
	m := manifestFor(2, 1, s, nil)
	m.ModelSpec = json.RawMessage(`{"kind":"cnn"}`)
	infos, err := writeShards(t, st, 2, 1, s)
	must(t, err)
	m.Shards = infos
	must(t, st.Commit(m)) // nothing pinned yet: any model

	for _, tc := range []struct {
		name string
		spec json.RawMessage
		want error
	}{
		{"first pin", testModel, nil},
		{"same spec, other spacing", json.RawMessage(`{ "kind": "mlp", "sizes": [7, 5, 3] }`), nil},
		{"another spec", json.RawMessage(`{"kind":"cnn"}`), checkpoint.ErrMismatch},
		{"not JSON", json.RawMessage(`{`), checkpoint.ErrInvalid},
		{"empty", nil, checkpoint.ErrInvalid},
	} {
		if err := st.ExpectModel(tc.spec); !errors.Is(err, tc.want) {
			t.Fatalf("%s: ExpectModel: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := st.CheckModel(testModel); err != nil {
		t.Fatalf("CheckModel of the pinned model: %v", err)
	}
	if err := st.CheckModel(json.RawMessage(`{"kind":"cnn"}`)); !errors.Is(err, checkpoint.ErrMismatch) {
		t.Fatalf("CheckModel of another model: %v, want ErrMismatch", err)
	}
	if _, err := st.Load(1); err != nil {
		t.Fatalf("step 1 (the pinned model): %v", err)
	}
	if _, err := st.Load(2); !errors.Is(err, checkpoint.ErrMismatch) {
		t.Fatalf("step 2 (another model) after the pin: %v, want ErrMismatch", err)
	}
	if err := st.ExpectJob(""); !errors.Is(err, checkpoint.ErrInvalid) {
		t.Fatalf("ExpectJob(\"\"): %v, want ErrInvalid", err)
	}
	must(t, st.ExpectJob("abc123"))
	must(t, st.ExpectJob("abc123"))
	if err := st.ExpectJob("def456"); !errors.Is(err, checkpoint.ErrMismatch) {
		t.Fatalf("a second job: %v, want ErrMismatch", err)
	}
}

// openDir opens a store in a temporary directory of the test, on disk.
func openDir(t *testing.T) *checkpoint.Store {
	t.Helper()
	st, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
