// Package mem is an in-process allreduce.Transport: a Network of N ranks
// joined by buffered pipes, with fault hooks for tests — drop frames on a
// link silently (a partition), delay them, cut a link (both ends see a
// reset), or kill a rank (its own calls fail, its peers see every link
// reset).
//
// Semantics follow transport/tcp so that one test body can run over both:
// frames are copied (the sender may reuse its buffer when Send returns),
// delivered in order per direction, checked against the receiver's expected
// tag and length, and Abort drops all of the endpoint's links so that peers
// fail fast.
package mem
