package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// IngestOptions configure `steady bench ingest`.
type IngestOptions struct {
	Clients      int           // concurrent clients of the single-event load
	BatchClients int           // concurrent clients of the batched load
	BatchSize    int           // events per batched request
	Keys         int           // distinct dedup keys
	Duration     time.Duration // measured time of each load
	Warmup       time.Duration // unmeasured time before each load
	Rate         int           // events/s of the open-loop latency run; 0 skips it
}

// Defaults fills unset options.
func (o *IngestOptions) Defaults() {
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.BatchClients <= 0 {
		o.BatchClients = 8
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Keys <= 0 {
		o.Keys = 10_000
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
}

// pdEvent appends one PagerDuty Events API v2 trigger.
func pdEvent(b []byte, key string, k int) []byte {
	b = append(b, `{"routing_key":"`...)
	b = append(b, key...)
	b = append(b, `","event_action":"trigger","dedup_key":"bench-`...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `","payload":{"summary":"High request latency on web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `","source":"web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `.example.net","severity":"error","component":"nginx","group":"frontend","class":"latency"}}`...)
	return b
}

// genericEvent appends one of Steady's generic events.
func genericEvent(b []byte, k int) []byte {
	b = append(b, `{"summary":"High request latency on web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `","dedup_key":"bench-`...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `","severity":"warning","host":"web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `","labels":{"alertname":"HighLatency","instance":"web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `:9100","job":"node"}}`...)
	return b
}

// SteadySingle is load (a): one PagerDuty event per request.
func SteadySingle(s *Steady, key string, o IngestOptions) (Result, error) {
	rngs := make([]*rand.Rand, o.Clients)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(i), 1))
	}
	bodies := make([][]byte, o.Clients)
	elapsed, recs, err := closedLoop(s.Addr, o.Clients, o.Warmup, o.Duration, http.StatusAccepted, func(w int, buf []byte) ([]byte, int) {
		bodies[w] = pdEvent(bodies[w][:0], key, rngs[w].IntN(o.Keys))
		return request(buf, s.Addr, "/v2/enqueue", "", bodies[w]), 1
	})
	if err != nil {
		return Result{}, err
	}
	return merged(s.Label, fmt.Sprintf("1 event/request, %d clients", o.Clients), elapsed, recs), nil
}

// SteadyBatch is load (b): generic batches into Keys dedup keys.
func SteadyBatch(s *Steady, key string, o IngestOptions) (Result, error) {
	rngs := make([]*rand.Rand, o.BatchClients)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(i), 2))
	}
	bodies := make([][]byte, o.BatchClients)
	elapsed, recs, err := closedLoop(s.Addr, o.BatchClients, o.Warmup, o.Duration, http.StatusAccepted, func(w int, buf []byte) ([]byte, int) {
		b := append(bodies[w][:0], '[')
		for i := range o.BatchSize {
			if i > 0 {
				b = append(b, ',')
			}
			b = genericEvent(b, rngs[w].IntN(o.Keys))
		}
		bodies[w] = append(b, ']')
		return request(buf, s.Addr, "/api/v1/events", key, bodies[w]), o.BatchSize
	})
	if err != nil {
		return Result{}, err
	}
	return merged(s.Label, fmt.Sprintf("%d events/request, %d clients", o.BatchSize, o.BatchClients), elapsed, recs), nil
}

// Latency is load (c): PagerDuty events at a fixed rate (open loop: a
// request is due at its time whether or not earlier ones were answered,
// and its latency counts from then), while probes, a few per second, each
// open a new incident through the generic endpoint; a probe's latency is
// from the time it was due until the incident is read back through the API
// (GET /api/v1/alerts/{id} for its incident, then GET /api/v1/incidents/{id}).
// It returns the background load's result and the probes'.
func Latency(ctx context.Context, s *Steady, key, probeKey string, o IngestOptions) (Result, Result, error) {
	if s.Token == "" {
		return Result{}, Result{}, fmt.Errorf("the latency run reads incidents back: it needs an admin token (--token)")
	}
	const workers = 512
	type job struct{ due time.Time }
	jobs := make(chan job, 1<<16)
	recs := make([]*recorder, workers)
	var wg sync.WaitGroup
	var k atomic.Int64
	var dropped atomic.Int64
	for i := range workers {
		recs[i] = &recorder{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(s.Addr)
			if err != nil {
				recs[i].fail(err.Error())
				for range jobs {
					recs[i].fail("no connection")
				}
				return
			}
			defer c.close()
			var buf, body []byte
			for j := range jobs {
				body = pdEvent(body[:0], key, int(k.Add(1))%o.Keys)
				buf = request(buf, s.Addr, "/v2/enqueue", "", body)
				status, b, err := c.do(buf)
				switch {
				case err != nil:
					recs[i].fail(err.Error())
				case status != http.StatusAccepted:
					recs[i].fail(fmt.Sprintf("status %d: %.200s", status, b))
				default:
					recs[i].ok(time.Since(j.due), 1)
				}
			}
		}()
	}
	// Probes: 20 per second, each a new incident.
	probeRec := &recorder{}
	probeDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(probeDone)
		c, err := dial(s.Addr)
		if err != nil {
			probeRec.fail(err.Error())
			return
		}
		defer c.close()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var buf []byte
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case due := <-t.C:
				if d, err := probe(c, &buf, s, probeKey, n, due); err != nil {
					probeRec.fail(err.Error())
				} else {
					probeRec.ok(d, 1)
				}
			}
		}
	}()
	// The pacer: due times spaced 1/rate apart, sent in 1 ms ticks.
	interval := time.Second / time.Duration(o.Rate)
	start := time.Now()
	end := start.Add(o.Duration)
	next := start
	tick := time.NewTicker(time.Millisecond)
	for now := range tick.C {
		if now.After(end) || ctx.Err() != nil {
			break
		}
		for ; !next.After(now) && next.Before(end); next = next.Add(interval) {
			select {
			case jobs <- job{due: next}:
			default:
				dropped.Add(1)
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-probeDone
	bg := merged(s.Label, fmt.Sprintf("open loop %d events/s: ack", o.Rate), elapsed, recs)
	if n := dropped.Load(); n > 0 {
		bg.Errors += n
		bg.Note = fmt.Sprintf("%d events could not even be queued by the generator; ", n) + bg.Note
	}
	pr := merged(s.Label, fmt.Sprintf("open loop %d events/s: event -> incident in API", o.Rate), elapsed, []*recorder{probeRec})
	return bg, pr, nil
}

// probe sends one event that opens a new incident and reads the incident
// back through the API; it returns the time from due until it was read.
func probe(c *conn, buf *[]byte, s *Steady, key string, n int, due time.Time) (time.Duration, error) {
	body := []byte(`{"summary":"Probe ` + strconv.Itoa(n) + ` failed","severity":"critical","labels":{"probe":"p-` +
		strconv.Itoa(n) + `-` + strconv.FormatInt(due.UnixNano(), 36) + `"}}`)
	*buf = request(*buf, s.Addr, "/api/v1/events", key, body)
	status, b, err := c.do(*buf)
	if err != nil {
		return 0, err
	}
	if status != http.StatusAccepted {
		return 0, fmt.Errorf("probe event: status %d: %.200s", status, b)
	}
	var ans struct {
		Results []struct {
			AlertID int64 `json:"alert_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != 1 || ans.Results[0].AlertID == 0 {
		return 0, fmt.Errorf("probe event: unexpected answer %.200s", b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		*buf = get(*buf, s.Addr, "/api/v1/alerts/"+strconv.FormatInt(ans.Results[0].AlertID, 10), s.Token)
		status, b, err = c.do(*buf)
		if err != nil {
			return 0, err
		}
		if status != http.StatusOK {
			return 0, fmt.Errorf("read alert: status %d: %.200s", status, b)
		}
		var a struct {
			IncidentID *int64 `json:"incident_id"`
		}
		if err := json.Unmarshal(b, &a); err != nil {
			return 0, err
		}
		if a.IncidentID != nil {
			*buf = get(*buf, s.Addr, "/api/v1/incidents/"+strconv.FormatInt(*a.IncidentID, 10), s.Token)
			status, b, err = c.do(*buf)
			if err != nil {
				return 0, err
			}
			if status == http.StatusOK {
				return time.Since(due), nil
			}
			if status != http.StatusNotFound {
				return 0, fmt.Errorf("read incident: status %d: %.200s", status, b)
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("alert %d had no incident after 10 s", ans.Results[0].AlertID)
		}
		time.Sleep(time.Millisecond)
	}
}
