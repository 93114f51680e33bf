package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ringtrain/ringtrain/job"
)

// trainingJob returns the job (YAML) that trained a checkpoint, and where
// it was read: the checkpoint's own record of it (recorded, from its
// manifest), else RUN_DIR/job.yaml when that is the job whose hash the
// checkpoint names (or it names none). The error says why the job is
// unknown: no record and no run directory, an unreadable job.yaml, or
// another job's.
func trainingJob(runDir string, recorded []byte, hash string) (b []byte, from string, err error) {
	if recorded != nil {
		if hash != "" && job.Hash(recorded) != hash {
			return nil, "", fmt.Errorf("the checkpoint's recorded job has hash %.12s, its job_hash says %.12s", job.Hash(recorded), hash)
		}
		return recorded, "the checkpoint's manifest", nil
	}
	if runDir == "" {
		return nil, "", fmt.Errorf("no run directory (job.yaml), and the model records no job")
	}
	path := filepath.Join(runDir, "job.yaml")
	b, err = os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if hash != "" && job.Hash(b) != hash {
		return nil, "", fmt.Errorf("%s is not the job that wrote the checkpoint (job hash %.12s, the checkpoint's %.12s)", path, job.Hash(b), hash)
	}
	return b, path, nil
}
