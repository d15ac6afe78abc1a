package jobs_test

import (
	"testing"

	"github.com/steadyhq/steady/internal/platform/jobs"
)

func TestSignal(t *testing.T) {
	var s jobs.Signal
	select {
	case <-s.C():
		t.Fatal("woke without a poke")
	default:
	}
	s.Poke()
	s.Poke() // folds into the first
	<-s.C()
	select {
	case <-s.C():
		t.Fatal("two pokes woke twice")
	default:
	}
}
