package membership

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/hashicorp/memberlist"
)

// Role is what a process does in the cluster.
type Role string

// The roles a process can have.
const (
	RoleCoordinator Role = "coordinator"
	RoleWorker      Role = "worker"
)

// Meta is the node metadata gossiped with the node (memberlist's NodeMeta).
// It travels as compact JSON that must fit memberlist.MetaMaxSize (512
// bytes); Validate checks that.
type Meta struct {
	// Role is RoleCoordinator or RoleWorker (required).
	Role Role
	// ID is a stable id of the process (e.g. a UUID or host:pid).
	ID string
	// GRPCAddr is the control-plane address ("host:port") of a coordinator,
	// "" for a worker.
	GRPCAddr string
	// DataAddr is the data-plane (all-reduce) address ("host:port") of a
	// worker, "" for a coordinator.
	DataAddr string
	// Version is the binary version.
	Version string
}

// wireMeta is the encoding of Meta on the wire: short keys keep it well
// under memberlist.MetaMaxSize. Leaving is internal: Leave sets it just
// before the leave broadcast so that peers can tell a graceful leave from a
// failure (memberlist v0.7.0 does not expose that distinction to
// EventDelegate.NotifyLeave, see events.go).
type wireMeta struct {
	Role     Role   `json:"r,omitempty"`
	ID       string `json:"i,omitempty"`
	GRPCAddr string `json:"g,omitempty"`
	DataAddr string `json:"d,omitempty"`
	Version  string `json:"v,omitempty"`
	Leaving  bool   `json:"l,omitempty"`
}

// Validate reports every invalid field of m, each wrapping ErrInvalidConfig:
// an unknown role, an address that is not "host:port", or an encoding
// larger than memberlist.MetaMaxSize.
func (m Meta) Validate() error {
	var errs []error
	if m.Role != RoleCoordinator && m.Role != RoleWorker {
		errs = append(errs, fmt.Errorf("%w: Meta.Role %q: want %q or %q",
			ErrInvalidConfig, m.Role, RoleCoordinator, RoleWorker))
	}
	for _, a := range []struct{ name, addr string }{{"GRPCAddr", m.GRPCAddr}, {"DataAddr", m.DataAddr}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%w: Meta.%s %q: %w", ErrInvalidConfig, a.name, a.addr, err))
		}
	}
	// Size the worst case: the encoding Leave will gossip (Leaving set).
	b, err := encodeMeta(m, true)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: Meta: %w", ErrInvalidConfig, err))
	} else if len(b) > memberlist.MetaMaxSize {
		errs = append(errs, fmt.Errorf("%w: Meta encodes to %d bytes, more than memberlist's limit of %d",
			ErrInvalidConfig, len(b), memberlist.MetaMaxSize))
	}
	return errors.Join(errs...)
}

// encodeMeta returns the wire encoding of m.
func encodeMeta(m Meta, leaving bool) ([]byte, error) {
	b, err := json.Marshal(wireMeta{
		Role: m.Role, ID: m.ID, GRPCAddr: m.GRPCAddr, DataAddr: m.DataAddr,
		Version: m.Version, Leaving: leaving,
	})
	if err != nil {
		return nil, fmt.Errorf("membership: encode meta: %w", err)
	}
	return b, nil
}

// decodeMeta parses metadata received from a peer. It never panics; on
// malformed input it returns the zero Meta and an error. Unknown keys are
// ignored so newer binaries can add fields.
func decodeMeta(b []byte) (Meta, bool, error) {
	if len(b) == 0 {
		return Meta{}, false, nil
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return Meta{}, false, fmt.Errorf("membership: decode meta (%d bytes): %w", len(b), err)
	}
	return Meta{Role: w.Role, ID: w.ID, GRPCAddr: w.GRPCAddr, DataAddr: w.DataAddr, Version: w.Version},
		w.Leaving, nil
}
