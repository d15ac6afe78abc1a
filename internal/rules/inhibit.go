package rules

import (
	"fmt"
	"maps"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// MaxEqual is the most labels an inhibit rule may compare.
const MaxEqual = 32

// InhibitRule mutes alerts while a related alert is open: while an open
// alert matches SourceMatchers, events whose labels match TargetMatchers
// and agree with it on every label named in Equal are suppressed. As in
// Alertmanager, a label missing on both sides counts as equal, and an alert
// never inhibits itself (one with the same labels as the target).
type InhibitRule struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	SourceMatchers Matchers `json:"source_matchers"`
	TargetMatchers Matchers `json:"target_matchers"`
	Equal          []string `json:"equal"`
}

// Validate checks an inhibit rule and names every invalid field.
func (r InhibitRule) Validate() error {
	var f errs.Fields
	f.Check(len(r.Name) > 200, "name", "must be at most 200 characters")
	f.Text("name", r.Name)
	f.Check(len(r.SourceMatchers) == 0, "source_matchers", "at least one matcher is required")
	r.SourceMatchers.check(&f, "source_matchers")
	f.Check(len(r.TargetMatchers) == 0, "target_matchers", "at least one matcher is required")
	r.TargetMatchers.check(&f, "target_matchers")
	f.Check(len(r.Equal) > MaxEqual, "equal", fmt.Sprintf("must name at most %d labels", MaxEqual))
	seen := map[string]bool{}
	for i, l := range r.Equal {
		field := fmt.Sprintf("equal[%d]", i)
		switch {
		case l == "" || len(l) > event.MaxLabelName || !utf8.ValidString(l):
			f.Add(field, "is not a valid label name")
		case seen[l]:
			f.Add(field, "names "+l+" twice")
		}
		seen[l] = true
	}
	return f.Err()
}

// Inhibitor holds inhibit rules and an index of the open alerts that match
// their source matchers, bucketed by the values of each rule's Equal labels,
// so that a lookup costs one map access per rule whatever the number of open
// alerts. It is safe for concurrent use.
type Inhibitor struct {
	rules []*inhibitIndex

	mu     sync.RWMutex
	alerts map[string]map[string]string // id → labels, for alerts in some index
}

type inhibitIndex struct {
	InhibitRule
	buckets map[string]map[string]map[string]string // equal key → alert id → labels
}

// NewInhibitor compiles inhibit rules into an empty index. A rule that does
// not validate is left out and named in the error (fields rules[i].<field>);
// the inhibitor holds the others.
func NewInhibitor(rules []InhibitRule) (*Inhibitor, error) {
	in := &Inhibitor{alerts: map[string]map[string]string{}}
	var bad errs.Fields
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			e, _ := errs.As(err)
			for _, fe := range e.Fields {
				bad.Add(fmt.Sprintf("rules[%d].%s", i, fe.Field), fe.Detail)
			}
			continue
		}
		r.Equal = append([]string(nil), r.Equal...)
		in.rules = append(in.rules, &inhibitIndex{InhibitRule: r, buckets: map[string]map[string]map[string]string{}})
	}
	return in, bad.Err()
}

// Rebuild returns a new inhibitor with other rules and the same open alerts.
func (in *Inhibitor) Rebuild(rules []InhibitRule) (*Inhibitor, error) {
	n, err := NewInhibitor(rules)
	if in != nil {
		in.mu.RLock()
		for id, labels := range in.alerts {
			n.setLocked(id, labels)
		}
		in.mu.RUnlock()
	}
	return n, err
}

// Set records that the alert id is open with labels (replacing its earlier
// labels, if any). Alerts that match no rule's source matchers are not kept.
func (in *Inhibitor) Set(id string, labels map[string]string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.deleteLocked(id)
	in.setLocked(id, maps.Clone(labels))
}

// Delete records that the alert id is no longer open.
func (in *Inhibitor) Delete(id string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.deleteLocked(id)
}

// HasRules reports whether any inhibit rule is in force.
func (in *Inhibitor) HasRules() bool { return in != nil && len(in.rules) > 0 }

// Len is the number of open alerts that can inhibit others.
func (in *Inhibitor) Len() int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return len(in.alerts)
}

func (in *Inhibitor) setLocked(id string, labels map[string]string) {
	var buf [128]byte
	kept := false
	for _, r := range in.rules {
		if !r.SourceMatchers.Matches(labels) {
			continue
		}
		key := string(equalKey(buf[:0], r.Equal, labels))
		b := r.buckets[key]
		if b == nil {
			b = map[string]map[string]string{}
			r.buckets[key] = b
		}
		b[id] = labels
		kept = true
	}
	if kept {
		in.alerts[id] = labels
	}
}

func (in *Inhibitor) deleteLocked(id string) {
	labels, ok := in.alerts[id]
	if !ok {
		return
	}
	delete(in.alerts, id)
	var buf [128]byte
	for _, r := range in.rules {
		key := equalKey(buf[:0], r.Equal, labels)
		if b := r.buckets[string(key)]; b != nil {
			delete(b, id)
			if len(b) == 0 {
				delete(r.buckets, string(key))
			}
		}
	}
}

// Inhibited reports whether an alert with labels is inhibited by an open alert.
func (in *Inhibitor) Inhibited(labels map[string]string) bool {
	_, _, ok := in.InhibitedBy(labels)
	return ok
}

// InhibitedBy is Inhibited that also says which rule and which open alert
// inhibit the target.
func (in *Inhibitor) InhibitedBy(labels map[string]string) (ruleID int64, sourceID string, ok bool) {
	if in == nil || len(in.rules) == 0 {
		return 0, "", false
	}
	var buf [128]byte
	in.mu.RLock()
	defer in.mu.RUnlock()
	for _, r := range in.rules {
		if !r.TargetMatchers.Matches(labels) {
			continue
		}
		b := r.buckets[string(equalKey(buf[:0], r.Equal, labels))]
		for id, src := range b {
			if !maps.Equal(src, labels) { // an alert does not inhibit itself
				return r.ID, id, true
			}
		}
	}
	return 0, "", false
}

// equalKey appends the values of the named labels, each prefixed by its
// length so that different value lists never give the same key. A missing
// label gives the same key as an empty one.
func equalKey(b []byte, names []string, labels map[string]string) []byte {
	for _, n := range names {
		v := labels[n]
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	return b
}
