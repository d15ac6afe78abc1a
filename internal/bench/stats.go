package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/event"
)

// Result is what one load run measured.
type Result struct {
	Target   string // "steady (sqlite)", "alertmanager 0.25"
	Scenario string
	Events   int64 // events acknowledged
	Requests int64 // requests answered with success
	Errors   int64 // failed requests (transport errors and unexpected statuses)
	Elapsed  time.Duration
	// Latency of the successful requests (open loop: from the time the
	// request was due, so queueing in the generator counts).
	P50, P95, P99, Max time.Duration
	// Note is shown under the table (an error sample, say).
	Note string
}

// EventsPerSec is the acknowledged events per second.
func (r Result) EventsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// recorder collects one worker's measurements; merge them at the end.
type recorder struct {
	lat      []time.Duration
	events   int64
	requests int64
	errors   int64
	firstErr string
}

func (r *recorder) ok(d time.Duration, events int) {
	r.lat = append(r.lat, d)
	r.events += int64(events)
	r.requests++
}

func (r *recorder) fail(err string) {
	r.errors++
	if r.firstErr == "" {
		r.firstErr = err
	}
}

// merged totals the recorders into a Result.
func merged(target, scenario string, elapsed time.Duration, rs []*recorder) Result {
	out := Result{Target: target, Scenario: scenario, Elapsed: elapsed}
	var all []time.Duration
	for _, r := range rs {
		all = append(all, r.lat...)
		out.Events += r.events
		out.Requests += r.requests
		out.Errors += r.errors
		if out.Note == "" && r.firstErr != "" {
			out.Note = "first error: " + r.firstErr
		}
	}
	slices.Sort(all)
	out.P50, out.P95, out.P99 = pct(all, 50), pct(all, 95), pct(all, 99)
	if len(all) > 0 {
		out.Max = all[len(all)-1]
	}
	return out
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Table prints ingest results as an aligned text table.
func Table(w io.Writer, title string, rs []Result) { table(w, title, rs, true) }

// QueryTable prints query results (no events/s column).
func QueryTable(w io.Writer, title string, rs []Result) { table(w, title, rs, false) }

// printRows prints rows as columns under their first row, the heading: the
// first two left-aligned, the others right-aligned.
func printRows(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for n, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i > 1 {
				b.WriteString(strings.Repeat(" ", width[i]-len(c)) + c + "  ")
			} else {
				b.WriteString(c + strings.Repeat(" ", width[i]-len(c)) + "  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if n == 0 {
			total := 0
			for _, x := range width {
				total += x + 2
			}
			fmt.Fprintln(w, strings.Repeat("-", total-2))
		}
	}
}

// LoopUse is what the commit loop of a server started here did during one
// load (its warm-up included): Before and After it, over Wall.
type LoopUse struct {
	Target, Load  string
	Before, After event.Stats
	Wall          time.Duration
}

// LoopTable prints, per load, the commit loop's transactions per second,
// events per transaction and the share of the time it was busy.
func LoopTable(w io.Writer, title string, us []LoopUse) {
	rows := [][]string{{"target", "load", "transactions/s", "events/transaction", "busy", "failed"}}
	for _, u := range us {
		tx := u.After.Transactions - u.Before.Transactions
		per := 0.0
		if tx > 0 {
			per = float64(u.After.Events-u.Before.Events) / float64(tx)
		}
		rows = append(rows, []string{u.Target, u.Load, thousands(float64(tx) / u.Wall.Seconds()), fmt.Sprintf("%.1f", per),
			fmt.Sprintf("%.0f %%", 100*(u.After.Busy-u.Before.Busy).Seconds()/u.Wall.Seconds()), fmt.Sprint(u.After.Failed - u.Before.Failed)})
	}
	fmt.Fprintf(w, "\n%s\n", title)
	printRows(w, rows)
}

func table(w io.Writer, title string, rs []Result, events bool) {
	if title != "" {
		fmt.Fprintf(w, "\n%s\n", title)
	}
	head := []string{"target", "load", "events/s", "requests/s", "p50", "p95", "p99", "max", "errors"}
	if !events {
		head = append(head[:2:2], head[3:]...)
	}
	rows := [][]string{head}
	for _, r := range rs {
		rps := 0.0
		if r.Elapsed > 0 {
			rps = float64(r.Requests) / r.Elapsed.Seconds()
		}
		row := []string{r.Target, r.Scenario, thousands(r.EventsPerSec()), thousands(rps),
			ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), fmt.Sprint(r.Errors)}
		if !events {
			row = append(row[:2:2], row[3:]...)
		}
		rows = append(rows, row)
	}
	printRows(w, rows)
	for _, r := range rs {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s / %s: %s\n", r.Target, r.Scenario, r.Note)
		}
	}
}

func ms(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func thousands(f float64) string {
	n := int64(f + 0.5)
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// closedLoop runs clients workers, each sending its next request as soon as
// the last is answered, for d (after warmup, which is not measured).
// next builds worker i's next request into buf and says how many events it holds.
func closedLoop(addr string, clients int, warmup, d time.Duration, want int,
	next func(worker int, buf []byte) ([]byte, int)) (time.Duration, []*recorder, error) {
	conns := make([]*conn, clients)
	for i := range conns {
		c, err := dial(addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.close()
			}
			return 0, nil, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	recs := make([]*recorder, clients)
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(d)
	for i := range clients {
		recs[i] = &recorder{lat: make([]time.Duration, 0, 1<<14)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, rec := conns[i], recs[i]
			var buf []byte
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				var n int
				buf, n = next(i, buf)
				status, body, err := c.do(buf)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				switch {
				case err != nil:
					rec.fail(err.Error())
					time.Sleep(10 * time.Millisecond)
				case status != want:
					rec.fail(fmt.Sprintf("status %d: %.200s", status, body))
					if status == 429 || status == 503 {
						time.Sleep(5 * time.Millisecond)
					}
				default:
					rec.ok(t1.Sub(t0), n)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(measureFrom), recs, nil
}
