package event

import (
	"sync/atomic"
	"time"
)

// Stats is what the commit loop did since it started: how many
// transactions it ran (groups of requests, flushes of waiting repeats, a
// group tried again after it found an alert changed elsewhere, each request
// retried alone after its group failed), the events they committed, and the
// time it spent in them.
// Events per transaction tell how well commits are grouped; busy time over
// wall time is how close the one serial part of ingest is to its limit.
type Stats struct {
	Transactions int64
	Failed       int64 // transactions that rolled back
	Events       int64 // events committed
	Busy         time.Duration
	// Waiting is how many alerts have repeats waiting to be written
	// (deferred.go), as the last transaction left them.
	Waiting int64
}

type loopStats struct {
	transactions, failed, events, busy, waiting atomic.Int64
}

// Stats reads the loop's counters; it may be called from any goroutine.
func (in *Ingester) Stats() Stats {
	s := &in.stats
	return Stats{Transactions: s.transactions.Load(), Failed: s.failed.Load(), Events: s.events.Load(),
		Busy: time.Duration(s.busy.Load()), Waiting: s.waiting.Load()}
}

// counted records one transaction of the loop, of n events, that began at
// start and ended with *err; later is what waits after it.
func (s *loopStats) counted(start time.Time, n int, err *error, later *deferred) {
	s.busy.Add(int64(time.Since(start)))
	s.transactions.Add(1)
	s.waiting.Store(int64(len(later.m)))
	if *err != nil {
		s.failed.Add(1)
		return
	}
	s.events.Add(int64(n))
}
