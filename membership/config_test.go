package membership

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValidOnceRequiredFieldsAreSet(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil {
		t.Fatal("DefaultConfig without NodeName/Secret/Meta validated")
	}
	c.NodeName = "n1"
	c.Secret, c.RunKey = testSecret, testRunKey
	c.Meta = Meta{Role: RoleWorker, ID: "n1", DataAddr: "10.0.0.1:7000"}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestConfigValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error
	}{
		{"missing name", func(c *Config) { c.NodeName = "" }, "NodeName: required"},
		{"name with space", func(c *Config) { c.NodeName = "a b" }, "NodeName"},
		{"name too long", func(c *Config) { c.NodeName = strings.Repeat("x", 129) }, "NodeName: 129 bytes"},
		{"no secret", func(c *Config) { c.Secret = nil }, "Secret is 0 bytes: want at least 16"},
		{"short secret", func(c *Config) { c.Secret = []byte("tooshort") }, "Secret is 8 bytes: want at least 16"},
		{"no run key", func(c *Config) { c.RunKey = nil }, "RunKey is 0 bytes: want at least 16"},
		{"short run key", func(c *Config) { c.RunKey = []byte("0123456789") }, "RunKey is 10 bytes: want at least 16"},
		{"meta too large", func(c *Config) { c.Meta.ID = strings.Repeat("x", 600) }, "more than memberlist's limit of 512"},
		{"unknown role", func(c *Config) { c.Meta.Role = "janitor" }, `Meta.Role "janitor"`},
		{"missing role", func(c *Config) { c.Meta.Role = "" }, "Meta.Role"},
		{"bad data addr", func(c *Config) { c.Meta.DataAddr = "nocolon" }, "Meta.DataAddr"},
		{"bad bind addr", func(c *Config) { c.BindAddr = "localhost" }, "BindAddr"},
		{"bad advertise addr", func(c *Config) { c.AdvertiseAddr = "host" }, "AdvertiseAddr"},
		{"bad port", func(c *Config) { c.BindPort = 70000 }, "BindPort 70000"},
		{"zero probe interval", func(c *Config) { c.ProbeInterval = 0 }, "ProbeInterval 0s"},
		{"probe timeout above interval", func(c *Config) { c.ProbeTimeout = time.Second }, "ProbeTimeout 1s: want at most ProbeInterval"},
		{"zero gossip interval", func(c *Config) { c.GossipInterval = 0 }, "GossipInterval"},
		{"negative push pull", func(c *Config) { c.PushPullInterval = -1 }, "PushPullInterval"},
		{"zero suspicion mult", func(c *Config) { c.SuspicionMult = 0 }, "SuspicionMult 0"},
		{"zero retransmit mult", func(c *Config) { c.RetransmitMult = 0 }, "RetransmitMult 0"},
		{"zero broadcast timeout", func(c *Config) { c.BroadcastTimeout = 0 }, "BroadcastTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig("n1", RoleWorker)
			tt.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %q, want it to mention %q", err, tt.want)
			}
			if m, err := Start(c); err == nil || !errors.Is(err, ErrInvalidConfig) {
				if m != nil {
					_ = m.Close()
				}
				t.Errorf("Start = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := testConfig("", RoleWorker)
	c.Secret, c.RunKey = []byte("short"), nil
	err := c.Validate()
	for _, want := range []string{"NodeName", "Secret", "RunKey"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("Validate = %v: does not mention %s", err, want)
		}
	}
}

func TestSecretIsNeverPrinted(t *testing.T) {
	c := testConfig("n1", RoleWorker)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("config", "cfg", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), buf.String(), fmt.Sprint(c.Validate())} {
		for _, k := range [][]byte{testSecret, testRunKey} {
			if strings.Contains(s, string(k)) || strings.Contains(s, fmt.Sprint(k)) {
				t.Errorf("secret or run key printed: %s", s)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(c), "redacted") {
		t.Errorf("String() = %s", c)
	}
}

// GossipKey needs the secret and the run key: either one changed gives
// another key, the key contains neither, and the derivation of the secret
// alone (what a host without a certificate could compute) is not it.
func TestGossipKey(t *testing.T) {
	k, err := GossipKey(testSecret, testRunKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 32 {
		t.Errorf("key is %d bytes, want 32 (AES-256)", len(k))
	}
	same, _ := GossipKey(append([]byte(nil), testSecret...), append([]byte(nil), testRunKey...))
	if !bytes.Equal(k, same) {
		t.Error("the same secret and run key gave different keys")
	}
	secretOnly, err := hkdf.Key(sha256.New, testSecret, nil, "ringtrain memberlist gossip v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k, secretOnly) {
		t.Error("the key is the secret-only (v1) derivation")
	}
	for _, tc := range []struct {
		name           string
		secret, runKey []byte
	}{
		{"another secret", []byte("another cluster secret, 32 bytes"), testRunKey},
		{"another run key", testSecret, []byte("another run key of this cluster")},
	} {
		other, err := GossipKey(tc.secret, tc.runKey)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if bytes.Equal(k, other) {
			t.Errorf("%s gave the same key", tc.name)
		}
	}
	if bytes.Contains(k, testSecret[:16]) || bytes.Contains(k, testRunKey[:16]) {
		t.Error("key contains the secret or the run key")
	}
	for _, tc := range []struct{ secret, runKey []byte }{{[]byte("short"), testRunKey}, {testSecret, []byte("short")}, {testSecret, nil}} {
		if _, err := GossipKey(tc.secret, tc.runKey); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("GossipKey(%d-byte secret, %d-byte run key) = %v, want ErrInvalidConfig", len(tc.secret), len(tc.runKey), err)
		}
	}
}
