package checkpoint

// opLocked counts one mutating operation and applies the injected faults:
// it returns the error the operation must fail with, or nil to proceed.
func (m *MemFS) opLocked(op, name string) error {
	if m.mu.crashed {
		return pathErr(op, name, ErrCrashed)
	}
	m.mu.ops++
	switch m.mu.ops {
	case m.mu.crashAt:
		m.mu.crashed = true
		return pathErr(op, name, ErrCrashed)
	case m.mu.failAt:
		m.mu.failAt = 0
		return pathErr(op, name, ErrInjected)
	}
	return nil
}

// Ops returns the number of mutating operations attempted so far (failed
// ones included).
func (m *MemFS) Ops() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.ops
}

// FailAfter lets the next n mutating operations run and makes the one
// after them fail with ErrInjected, without effect. Later operations run
// normally: the fault fires once. A negative n cancels a pending fault.
func (m *MemFS) FailAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.failAt = 0
	if n >= 0 {
		m.mu.failAt = m.mu.ops + n + 1
	}
}

// CrashAfter lets the next n mutating operations run and then crashes the
// machine: the next mutating operation and every operation after it,
// reads included, fail with ErrCrashed and change nothing, as if the
// process had died. CrashClone then shows what survived. A negative n
// cancels a pending crash.
func (m *MemFS) CrashAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.crashAt = 0
	if n >= 0 {
		m.mu.crashAt = m.mu.ops + n + 1
	}
}

// Crashed reports whether a crash injected by CrashAfter has happened.
func (m *MemFS) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.crashed
}

// CrashClone returns a new MemFS holding only what is durable in m: every
// file with the bytes of its last Sync, reachable through the directory
// entries of each directory's last SyncDir (the root always exists). m is
// unchanged; the clone has no pending faults.
func (m *MemFS) CrashClone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &MemFS{}
	c.mu.root = cloneDurable(m.mu.root)
	return c
}

func cloneDurable(n *memNode) *memNode {
	if !n.isDir {
		d := append([]byte(nil), n.durable...)
		return &memNode{data: d, durable: append([]byte(nil), d...)}
	}
	c := newDirNode()
	for name, child := range n.synced {
		cc := cloneDurable(child)
		c.children[name] = cc
		c.synced[name] = cc
	}
	return c
}
