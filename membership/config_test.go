package membership

import (
	"bytes"
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
	c.Secret = testSecret
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
	c.Secret = []byte("short")
	err := c.Validate()
	for _, want := range []string{"NodeName", "Secret"} {
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
		if strings.Contains(s, string(testSecret)) || strings.Contains(s, fmt.Sprint(testSecret)) {
			t.Errorf("secret printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(c), "redacted") {
		t.Errorf("String() = %s", c)
	}
}

func TestGossipKey(t *testing.T) {
	k1, err := gossipKey(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := gossipKey(append([]byte(nil), testSecret...))
	k3, _ := gossipKey([]byte("another cluster secret, 32 bytes"))
	if len(k1) != 32 {
		t.Errorf("key is %d bytes, want 32 (AES-256)", len(k1))
	}
	if !bytes.Equal(k1, k2) {
		t.Error("same secret gave different keys")
	}
	if bytes.Equal(k1, k3) {
		t.Error("different secrets gave the same key")
	}
	if bytes.Contains(k1, testSecret[:16]) {
		t.Error("key contains the secret")
	}
}
