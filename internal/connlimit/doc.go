// Package connlimit bounds how many connections the clients of a listener
// can hold at once: in all (Limits.Total) and from one remote IP address
// (Limits.PerHost). It is what keeps a host that opens connections and
// leaves them quiet from exhausting a process's file descriptors.
//
// A Gate counts the connections it admitted until they are closed. Admit
// refuses a connection over either bound by closing it at once: its client
// sees the connection closed, never a queue, and the connections already
// held (the cluster's own) are untouched. Refusals are logged at WARN, at
// most 10 lines a second (the next line counts what was dropped), so a
// flood cannot fill the disk with logs. Listener wraps a net.Listener with
// a Gate: its Accept returns admitted connections only, for servers that
// take a net.Listener (net/http, gRPC); a server that hands out
// connections some other way (memberlist's transport) calls Admit itself.
//
// The bounds are on concurrent connections, not on their rate, and on one
// IP address, not a network: several addresses together can hold Total.
// What a held connection may do, and for how long, stays the server's
// business (timeouts, authentication).
package connlimit
