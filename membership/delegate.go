package membership

import (
	"sync"

	"github.com/hashicorp/memberlist"
)

// metaDelegate implements memberlist.Delegate: it hands memberlist this
// node's encoded metadata. memberlist calls it from several goroutines.
type metaDelegate struct {
	mu struct {
		sync.Mutex
		meta    Meta
		leaving bool
		encoded []byte // encodeMeta(meta, leaving), always <= MetaMaxSize
	}
}

var _ memberlist.Delegate = (*metaDelegate)(nil)

// set replaces the metadata; the caller has validated meta, so its encoding
// fits memberlist.MetaMaxSize.
func (d *metaDelegate) set(meta Meta, leaving bool) error {
	b, err := encodeMeta(meta, leaving)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.meta, d.mu.leaving, d.mu.encoded = meta, leaving, b
	return nil
}

// get returns the current metadata.
func (d *metaDelegate) get() (Meta, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.meta, d.mu.leaving
}

// NodeMeta returns a copy of the encoded metadata, or nothing if it would
// not fit limit (it always fits: Meta.Validate checked it).
func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.mu.encoded) > limit {
		return nil
	}
	return append([]byte(nil), d.mu.encoded...)
}

// NotifyMsg ignores user messages: this package sends none.
func (*metaDelegate) NotifyMsg([]byte) {}

// GetBroadcasts has no user broadcasts to add.
func (*metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState adds nothing to push/pull syncs.
func (*metaDelegate) LocalState(join bool) []byte { return nil }

// MergeRemoteState ignores remote user state (there is none).
func (*metaDelegate) MergeRemoteState(buf []byte, join bool) {}
