// Package control is the control plane's protocol (the gRPC service of
// proto/ringtrain/v1) as both sides speak it, so that no other package
// knows how a message is framed:
//
//   - the client side: Dial (mutual TLS with the cluster CA, or plaintext
//     only when asked, plus the bearer token derived from the cluster
//     secret on every call: auth.go) and Client, whose methods are what a
//     worker needs — Join (retried while the coordinator is unreachable,
//     for a timeout: join.go), WatchPlan, Report, UploadShard,
//     GetCheckpoint, DownloadRange;
//   - the server side of authentication (AuthUnary, AuthStream: the same
//     token, checked in constant time) for the coordinator's gRPC server;
//   - both halves of every stream. The shard upload (upload.go): the
//     client sends a header (worker, generation, step, rank, world size,
//     rank 0's manifest draft), then the safetensors bytes in chunks of
//     UploadChunkBytes, then an end marker carrying the CRC32C of those
//     bytes; the coordinator reads it with ReceiveShard (an io.Reader over
//     the chunks), checks the trailer with Verify and answers with Close.
//     When the coordinator ends the stream early, the client's Send says
//     only io.EOF: the client then reads the coordinator's status from
//     CloseAndRecv and returns that. The range download (download.go):
//     SendRange streams a named range of float32 values in chunks of
//     RangeChunkFloats; the client fills the caller's slices, in order, and
//     refuses a chunk that does not fit or a range left short.
//
// Values travel as little-endian float32 and checksums as CRC32C, both from
// internal/wire. Errors of the coordinator reach the caller as gRPC
// statuses (status.Code works on them, wrapped or not); errors of the
// stream's content name what is wrong. The package keeps no state between
// calls; a Client is safe for concurrent use.
//
// The worker does not depend on this package's types for its logic: it
// declares the interface it needs (worker.Control), which *Client
// implements, so its logic can be tested in-process.
package control
