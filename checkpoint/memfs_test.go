package checkpoint_test

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

var _ checkpoint.FS = (*checkpoint.MemFS)(nil)

// create writes data to name, optionally syncing the file.
func create(t *testing.T, m *checkpoint.MemFS, name, data string, sync bool) {
	t.Helper()
	f, err := m.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func content(t *testing.T, m *checkpoint.MemFS, name string) (string, bool) {
	t.Helper()
	f, err := m.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return string(readFile(t, m, name)), true
}

func TestMemFSCrashSemantics(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, m *checkpoint.MemFS)
		want map[string]string // files after the crash
	}{
		{"unsynced file and entry lost", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "x", false)
		}, map[string]string{}},
		{"synced data without directory sync lost", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "x", true)
		}, map[string]string{}},
		{"directory sync without data sync keeps an empty file", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "x", false)
			must(t, m.SyncDir("/d"))
		}, map[string]string{"/d/a": ""}},
		{"both synced survive", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "xy", true)
			must(t, m.SyncDir("/d"))
		}, map[string]string{"/d/a": "xy"}},
		{"data after the last sync lost", func(t *testing.T, m *checkpoint.MemFS) {
			f, err := m.Create("/d/a")
			must(t, err)
			_, err = f.Write([]byte("ab"))
			must(t, err)
			must(t, f.Sync())
			must(t, m.SyncDir("/d"))
			_, err = f.Write([]byte("cd"))
			must(t, err)
			must(t, f.Close())
		}, map[string]string{"/d/a": "ab"}},
		{"rename without directory sync undone", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "old", true)
			create(t, m, "/d/tmp", "new", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Rename("/d/tmp", "/d/a"))
		}, map[string]string{"/d/a": "old", "/d/tmp": "new"}},
		{"rename with directory sync kept", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "old", true)
			create(t, m, "/d/tmp", "new", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Rename("/d/tmp", "/d/a"))
			must(t, m.SyncDir("/d"))
		}, map[string]string{"/d/a": "new"}},
		{"remove without directory sync undone", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "x", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Remove("/d/a"))
		}, map[string]string{"/d/a": "x"}},
		{"create over a file without directory sync keeps the old one", func(t *testing.T, m *checkpoint.MemFS) {
			create(t, m, "/d/a", "old", true)
			must(t, m.SyncDir("/d"))
			create(t, m, "/d/a", "new", true)
		}, map[string]string{"/d/a": "old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := checkpoint.NewMemFS()
			must(t, m.MkdirAll("/d"))
			must(t, m.SyncDir("/"))
			tc.do(t, m)
			c := m.CrashClone()
			names, err := c.ReadDir("/d")
			must(t, err)
			got := map[string]string{}
			for _, n := range names {
				got["/d/"+n], _ = content(t, c, "/d/"+n)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("after crash %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMemFSUnsyncedDirectoryLost(t *testing.T) {
	m := checkpoint.NewMemFS()
	must(t, m.MkdirAll("/a/b"))
	must(t, m.SyncDir("/a"))
	if _, err := m.CrashClone().Stat("/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("/a survived without a sync of /: %v", err)
	}
	must(t, m.SyncDir("/"))
	if _, err := m.CrashClone().Stat("/a/b"); err != nil {
		t.Fatalf("/a/b lost: %v", err)
	}
}

func TestMemFSFaults(t *testing.T) {
	m := checkpoint.NewMemFS()
	must(t, m.MkdirAll("/d"))
	base := m.Ops()
	m.FailAfter(1)
	f, err := m.Create("/d/a") // op 1 runs
	must(t, err)
	if _, err := f.Write([]byte("x")); !errors.Is(err, checkpoint.ErrInjected) { // op 2 fails
		t.Fatalf("write: %v, want ErrInjected", err)
	}
	_, err = f.Write([]byte("y")) // op 3 runs: the fault fires once
	must(t, err)
	must(t, f.Close())
	if got, _ := content(t, m, "/d/a"); got != "y" {
		t.Fatalf("content %q, want %q", got, "y")
	}
	if got := m.Ops() - base; got != 3 {
		t.Fatalf("%d ops, want 3", got)
	}

	m2 := checkpoint.NewMemFS()
	m2.FailAfter(0)
	if err := m2.MkdirAll("/x"); !errors.Is(err, checkpoint.ErrInjected) {
		t.Fatalf("err %v, want ErrInjected", err)
	}
	if _, err := m2.Stat("/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a failed operation had an effect")
	}
	must(t, m2.MkdirAll("/x")) // the fault fires once

	m3 := checkpoint.NewMemFS()
	m3.CrashAfter(1)
	must(t, m3.MkdirAll("/x"))
	if err := m3.SyncDir("/"); !errors.Is(err, checkpoint.ErrCrashed) {
		t.Fatalf("err %v, want ErrCrashed", err)
	}
	if _, err := m3.Stat("/x"); !errors.Is(err, checkpoint.ErrCrashed) {
		t.Fatalf("read after crash: %v, want ErrCrashed", err)
	}
	if !m3.Crashed() {
		t.Fatal("Crashed() false")
	}
	if _, err := m3.CrashClone().Stat("/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("unsynced directory survived the crash")
	}
}

func TestMemFSErrors(t *testing.T) {
	m := checkpoint.NewMemFS()
	if _, err := m.Create("/no/such/dir/f"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("create in missing dir: %v", err)
	}
	if _, err := m.Open("/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open missing: %v", err)
	}
	if err := m.Rename("/nope", "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rename missing: %v", err)
	}
	if err := m.Remove("/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("remove missing: %v", err)
	}
	must(t, m.RemoveAll("/nope"))
	must(t, m.MkdirAll("/d/e"))
	if err := m.Remove("/d"); err == nil {
		t.Fatal("removed a non-empty directory")
	}
	if _, err := m.Open("/d"); err == nil {
		t.Fatal("opened a directory for reading")
	}
	if _, err := m.Create("/../x"); err != nil {
		t.Fatalf("/.. is / : %v", err)
	}
	if _, err := m.Stat("../x"); err != nil {
		t.Fatalf("../x is /x: %v", err)
	}
	fi, err := m.Stat("d/e") // relative names address the same tree
	must(t, err)
	if !fi.IsDir() || fi.Name() != "e" {
		t.Fatalf("stat: %v %q", fi.IsDir(), fi.Name())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
