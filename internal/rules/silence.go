package rules

import (
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// MaxComment is the longest comment of a silence or maintenance window.
const MaxComment = 2000

// Silence mutes the alerts whose labels match all its matchers, from
// StartsAt until EndsAt. Silenced events are stored but page nobody.
type Silence struct {
	ID        int64     `json:"id"`
	Matchers  Matchers  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
}

// Validate checks a silence. As in Alertmanager, a silence needs at least one
// matcher that does not match the empty string, so that it cannot silence
// every alert.
func (s Silence) Validate() error {
	var f errs.Fields
	if len(s.Matchers) == 0 {
		f.Add("matchers", "at least one matcher is required")
	} else {
		s.Matchers.check(&f, "matchers")
		f.Check(len(f) == 0 && s.Matchers.MatchesEverything(), "matchers",
			`at least one matcher must not match the empty string (a silence cannot match every alert)`)
	}
	f.Check(s.StartsAt.IsZero(), "starts_at", "is required")
	f.Check(s.EndsAt.IsZero(), "ends_at", "is required")
	f.Check(!s.StartsAt.IsZero() && !s.EndsAt.IsZero() && !s.EndsAt.After(s.StartsAt), "ends_at", "must be after starts_at")
	f.Check(strings.TrimSpace(s.Comment) == "", "comment", "is required")
	f.Check(len(s.Comment) > MaxComment, "comment", "must be at most 2000 characters")
	f.Text("comment", s.Comment)
	f.Check(len(s.CreatedBy) > 200, "created_by", "must be at most 200 characters")
	return f.Err()
}

// Active reports whether the silence is in force at t: StartsAt <= t < EndsAt.
func (s *Silence) Active(t time.Time) bool {
	return !t.Before(s.StartsAt) && t.Before(s.EndsAt)
}

// Expired reports whether the silence has ended at t.
func (s *Silence) Expired(t time.Time) bool { return !t.Before(s.EndsAt) }

// Matches reports whether the silence is active at t and matches labels.
func (s *Silence) Matches(labels map[string]string, t time.Time) bool {
	return s.Active(t) && s.Matchers.Matches(labels)
}
