package event

// HoldDeferred keeps a burst's repeats waiting (deferred.go) until a commit
// must write them: a small commit, a change elsewhere, Stop. No idle or age
// flush, so that a test sees them wait. Call it before Start.
func HoldDeferred(in *Ingester) { in.later.hold = true }

// Crash stops the ingester as a killed process would: what waits stays
// unwritten.
func Crash(in *Ingester) {
	in.later.abandon = true
	in.Stop()
}
