package k8s

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ringtrain/ringtrain/job"
)

// TestJobSpec parses the ConfigMap's job.yaml with ringtrain's own strict
// parser (unknown keys and invalid values fail) and checks it against the
// worker StatefulSet.
func TestJobSpec(t *testing.T) {
	objs := base(t)
	cm := byName[corev1.ConfigMap](objs, "ringtrain-job")
	if cm == nil {
		t.Fatal("no ConfigMap ringtrain-job")
	}
	text, ok := cm.Data["job.yaml"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("ConfigMap ringtrain-job: want exactly the key job.yaml, got %d keys", len(cm.Data))
	}
	spec, err := job.Parse([]byte(text))
	if err != nil {
		t.Fatalf("job.yaml: %v", err)
	}
	// The built-in default with the cluster section sized for 4 workers:
	// change this along with a deliberate change of the job.
	want := job.Default()
	want.Cluster.MinWorkers, want.Cluster.MaxWorkers = 2, 4
	want.Train.GlobalBatch = 64
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("job.yaml differs from the default adjusted for 4 workers:\n got %+v\nwant %+v", spec, want)
	}
	replicas := int(*statefulSet(t, objs, "ringtrain-worker").Spec.Replicas)
	c := spec.Cluster
	if replicas < c.MinWorkers || replicas > c.MaxWorkers {
		t.Errorf("%d worker replicas outside cluster.min_workers..max_workers %d..%d", replicas, c.MinWorkers, c.MaxWorkers)
	}
	if n, ok := spec.WorldSize(replicas); !ok || n != replicas {
		t.Errorf("%d workers rank only %d (global_batch %d): make it divisible", replicas, n, spec.Train.GlobalBatch)
	}
	if _, ok := spec.WorldSize(c.MinWorkers); !ok {
		t.Errorf("min_workers %d workers cannot form a world for global_batch %d", c.MinWorkers, spec.Train.GlobalBatch)
	}
	if !spec.Checkpoint.Enabled() {
		t.Error("checkpoints are off: --auto-resume and worker recovery need them")
	}
}
