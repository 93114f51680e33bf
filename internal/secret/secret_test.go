package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("  0123456789abcdef0123 \n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	t.Setenv("RT_TEST_SECRET", "fromtheenvironment!")
	for _, tc := range []struct {
		path, env, want, err string
	}{
		{good, "", "0123456789abcdef0123", ""},
		{short, "", "", "at least 16"},
		{filepath.Join(dir, "missing"), "", "", "no such file"},
		{"", "RT_TEST_SECRET", "fromtheenvironment!", ""},
		{"", "RT_TEST_UNSET", "", "set RT_TEST_UNSET"},
	} {
		got, err := Load(tc.path, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q %q: %v, want %q", tc.path, tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%q %q: %q %v", tc.path, tc.env, got, err)
		}
	}
}

func TestDeriveSeparatesPurposes(t *testing.T) {
	s := New()
	a, _ := Derive(s, "a")
	b, _ := Derive(s, "b")
	if string(a) == string(b) || len(a) != 32 {
		t.Fatal("keys for different purposes must differ")
	}
	t1, _ := ControlToken(s)
	t2, _ := ControlToken(s)
	if !Equal(t1, t2) || Equal(t1, "x") {
		t.Fatal("token comparison")
	}
}
