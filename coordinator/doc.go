// Package coordinator decides who trains with which rank in which
// generation, and serves that decision to the workers.
//
// It has two halves:
//
//   - Core (core.go) is a pure state machine — no goroutines, no clock, no
//     I/O. The driver feeds it events (Join, Fail, Leave, Tick, Done,
//     Failure) and reads the resulting plans with PlanFor and the log with
//     TakeEvents. Rendezvous: wait until enough workers have joined that a
//     valid world size exists (MinWorkers, dividing the global batch), then
//     wait SettleTicks for more (up to MaxWorkers, which forms the
//     generation at once); ranks follow join order, so they are stable.
//     Workers joining later stand by and are admitted at the next
//     checkpoint (Checkpointed). With Elastic, losing a ranked worker (Fail,
//     Leave) or a stalled generation (Stalled) makes the alive workers form
//     the next generation at once, restoring the newest committed
//     checkpoint, or pauses the run until a valid world size is back;
//     failed members are told to rejoin. CheckpointFailed records a
//     checkpoint the disk could not take: an event, and a failed run only
//     after CoreConfig.MaxCheckpointFailures in a row or when the final
//     step's checkpoint is lost. Table tests drive it through
//     membership sequences without sockets or sleeps.
//   - Server (server.go, rpc.go, report.go, checkpoints.go) is the driver: the gRPC
//     control plane (Join, WatchPlan, Report, Status, UploadShard,
//     GetCheckpoint, DownloadRange), broken WatchPlan streams (gRPC
//     keepalive breaks a silent worker's) and a memberlist node's fail/leave
//     events become Fail/Leave events — gossip's only for a worker with no
//     WatchPlan stream open, otherwise it is recorded (liveness.go) — the
//     ticker,
//     checkpoint ingestion (an upload only from the worker holding that
//     rank in the current generation, of a step it may checkpoint, the
//     manifest only from rank 0: uploadrules.go; commit when every rank's
//     shard of a step is durable; a step the disk cannot take is answered
//     codes.Aborted, its partial directory removed: ckfailure.go) and
//     restores served from the checkpoint store. Start refuses a job with checkpoints when
//     there is no store. How the streams are framed (the shard upload's
//     chunks and CRC32C trailer, the range download's chunks) and the
//     bearer-token check are package control's, which speaks both sides
//     of the protocol; the handlers here decide what to do with them.
//
// Inside the Server, Server.mu guards only the core and the signalling of
// its changes (the version WatchPlan streams wait on, the run's end); the
// Server reads the core through its methods only. The rest has one owner
// each, behind its own lock: the roster (roster.go: worker ids and info),
// the board (board.go: rank 0's latest progress, the latest evaluation,
// the summary), the dashboard's history (history.go), the anomaly
// detectors (anomalies.go), the recovery clock (recovery.go), the event
// log (eventlog.go) and the metrics mirror (metricsmirror.go). Report
// (report.go) is a sequence of steps, each delegating to an owner: accept
// (fenced under Server.mu), the trace writer, the report observers (board,
// history, metrics mirror, detectors: each told every accepted report, in
// order), the recovery clock, the core. Events have a typed kind
// (EventKind, events.go; its string is what Status and the logs show):
// the core logs its decisions, the Server publishes them and its own
// observations (a commit, a recovery, an anomaly) to the event observers
// (the event log, the metrics mirror, the recovery clock); nothing writes
// into the core's log from outside.
//
// Caller's duties for Server: Start it, hand workers its address, call Wait
// for the outcome, Close it.
package coordinator
