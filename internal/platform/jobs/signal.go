// Package jobs holds what background jobs share.
package jobs

import "sync"

// Signal wakes a job's loop when there is work now, so that it need not wait
// for its next tick. Poke never blocks; pokes that arrive while the loop is
// busy fold into one. The zero value is ready to use.
type Signal struct {
	once sync.Once
	c    chan struct{}
}

func (s *Signal) ch() chan struct{} {
	s.once.Do(func() { s.c = make(chan struct{}, 1) })
	return s.c
}

// C is the channel the loop waits on.
func (s *Signal) C() <-chan struct{} { return s.ch() }

// Poke wakes the loop.
func (s *Signal) Poke() {
	select {
	case s.ch() <- struct{}{}:
	default:
	}
}
