package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
)

// The outbox: every message Steady sends, with its delivery state; the dead
// letters (failed) can be queued again. Managers see every message, others
// their own.

type outboxTab struct {
	Status, Label string
	Count         int
}

type outboxData struct {
	Status string
	Tabs   []outboxTab
	Items  []notify.Item
	Pager  pager
}

var outboxTabs = []outboxTab{
	{Status: "", Label: "All"},
	{Status: notify.StatusPending, Label: "Pending"},
	{Status: notify.StatusDelivered, Label: "Delivered"},
	{Status: notify.StatusFailed, Label: "Dead letters"},
	{Status: notify.StatusHeld, Label: "Held by a rate limit"},
	{Status: notify.StatusCancelled, Label: "Cancelled"},
}

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	d := outboxData{Status: r.URL.Query().Get("status")}
	l, err := s.Outbox.List(r.Context(), notify.Filter{Status: d.Status}, p)
	if err != nil {
		return err
	}
	d.Items, d.Pager = l.Items, pagerOf(r, l.Next)
	if me(r).Role.AtLeast(iam.RoleManager) {
		counts, err := s.Outbox.Counts(r.Context())
		if err != nil {
			return err
		}
		for _, t := range outboxTabs {
			if t.Status == "" {
				for _, n := range counts {
					t.Count += n
				}
			} else {
				t.Count = counts[t.Status]
			}
			d.Tabs = append(d.Tabs, t)
		}
	} else {
		d.Tabs = outboxTabs
	}
	return s.render(w, r, http.StatusOK, s.v.outbox, view{Title: "Outbox", Nav: "outbox", Data: d})
}

func (s *Server) outboxItemPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	it, err := s.Outbox.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, s.v.outboxItem, view{Title: "Message " + itoa(id), Nav: "outbox", Data: it})
}

func (s *Server) retryOutboxItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.Outbox.Retry(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/outbox/"+itoa(id), "Message %d is queued again.", id)
}
