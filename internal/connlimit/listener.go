package connlimit

import "net"

// Listener is a net.Listener whose Accept returns only the connections its
// Gate admits; the others are closed as they arrive.
type Listener struct {
	net.Listener
	gate *Gate
}

// Wrap returns ln behind g.
func Wrap(ln net.Listener, g *Gate) *Listener { return &Listener{Listener: ln, gate: g} }

// Accept waits for the next admitted connection, or ln's error.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ac, ok := l.gate.Admit(c); ok {
			return ac, nil
		}
	}
}

// Gate is the Gate the Listener admits through.
func (l *Listener) Gate() *Gate { return l.gate }
