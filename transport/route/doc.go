// Package route gives a rank one allreduce.Transport that reaches each peer
// the fastest way it can: through shared memory (transport/shm) when the
// peer runs on the same host, over TCP (transport/tcp) otherwise.
//
// Establish runs once per generation, right after the TCP links are made,
// and uses those links (authenticated by the cluster secret) for the
// rendezvous, as three small collectives:
//
//  1. every rank all-gathers its host key (HostKey: a hash of the kernel's
//     boot id, the process's pid namespace and its user id, or an override)
//     and whether it wants shared memory; the ranks with equal keys form a
//     host group, led by its lowest rank;
//  2. each leader of a group of two or more creates a sealed memfd segment
//     for the group (shm.Create) with a fresh random 16-byte key, attaches
//     as the group's first rank, and all-gathers where it is (pid,
//     descriptor number) and the key; the other members open it through
//     /proc/<pid>/fd/<n> (the kernel allows that only to a process that may
//     read the leader's memory anyway: the same user, same pid namespace)
//     and attach, which checks the generation and the key (shm.ErrWrongKey):
//     a process without the cluster secret never learns the key, and a
//     recycled pid or descriptor never matches it;
//  3. an all-reduce of failure votes: a group whose every member attached
//     uses shared memory; if any member failed (no /proc, another pid
//     namespace than its key said, a descriptor limit), the whole group
//     stays on TCP, and Info says why. Only then does the leader close its
//     descriptor, so every member had the chance to open it.
//
// The resulting Transport sends to a peer of the group through the
// segment (local ranks are the group's members in rank order) and to the
// others over TCP; Abort and Close act on both. It honours the
// allreduce.Transport contract because each peer is reached by exactly one
// underlying transport.
//
// Shared memory needs Linux; elsewhere Establish keeps every peer on TCP.
package route
