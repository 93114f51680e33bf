// Package proc starts and stops groups of child processes of this binary
// (benchmark ranks, local-cluster workers) so that none outlives its parent:
// Stop sends SIGTERM, then SIGKILL after a grace period, and on Linux every
// child is started with a parent-death signal (SIGKILL) so that even a
// parent killed with SIGKILL leaves no orphans.
package proc
