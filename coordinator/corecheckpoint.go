package coordinator

import "fmt"

// CheckpointFailed records that checkpoint step could not be stored (the
// coordinator's disk is full, read-only or failing; reason says how). It is
// an event, not a failure of the run: the current plans do not change,
// training goes on and the next checkpoint is tried, and Latest still names
// the last committed one. CoreConfig.MaxCheckpointFailures failures in a
// row (no commit in between) fail the run with reason, and so does Done
// after a failed checkpoint: the final step's checkpoint did not make it.
// The driver calls it once per failed step.
func (c *Core) CheckpointFailed(step int64, reason string) {
	if c.phase == PhaseDone || c.phase == PhaseFailed {
		return
	}
	if step < c.latest { // a newer checkpoint is committed already: not in a row
		c.logf(EventCheckpointFailed, "checkpoint step %d failed: %s; the newer checkpoint step %d is stored, training goes on", step, reason, c.latest)
		return
	}
	c.ckFailures++
	c.ckFailed = max(c.ckFailed, step)
	c.ckFailure = fmt.Sprintf("step %d: %s", step, reason)
	limit := max(1, c.cfg.MaxCheckpointFailures)
	if c.ckFailures >= limit {
		c.logf(EventCheckpointFailed, "checkpoint step %d failed: %s", step, reason)
		c.fail(fmt.Sprintf("%d checkpoints in a row could not be stored (checkpoint.max_failures %d); the last, step %d: %s",
			c.ckFailures, limit, step, reason))
		return
	}
	from := "no checkpoint committed yet"
	if c.latest > 0 {
		from = fmt.Sprintf("the latest checkpoint is still step %d", c.latest)
	}
	c.logf(EventCheckpointFailed, "checkpoint step %d failed (%d of checkpoint.max_failures %d in a row): %s; training goes on, %s",
		step, c.ckFailures, limit, reason, from)
}

// finalCheckpointLost is the reason of a run that trained to the end but
// could not store its final checkpoint: Done then fails the run, since the
// trained parameters would be lost with the workers.
func (c *Core) finalCheckpointLost() string {
	newest := "no checkpoint was stored"
	if c.latest > 0 {
		newest = fmt.Sprintf("the newest stored checkpoint is step %d", c.latest)
	}
	return fmt.Sprintf("training finished, but its final checkpoint could not be stored (%s); %s", c.ckFailure, newest)
}

// CheckpointFailures is the number of checkpoints failed in a row since the
// last commit.
func (c *Core) CheckpointFailures() int { return c.ckFailures }

// Restore is the checkpoint step the current generation restored (0: it
// started from the beginning): it trains the steps after it, so it can
// checkpoint none up to it.
func (c *Core) Restore() int64 { return c.restore }
