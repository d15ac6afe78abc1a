package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/platform/httpx"
)

// BeatBodyLimit caps the body of a beat: a beat carries nothing, but cron
// jobs sometimes send a line of output with it, which is ignored.
const BeatBodyLimit = 4 << 10

func (s *Server) listHeartbeats(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	svc, err := queryID(r, "service")
	if err != nil {
		return err
	}
	l, err := s.Heartbeats.List(r.Context(), heartbeat.Filter{ServiceID: svc, Status: heartbeat.Status(r.URL.Query().Get("status"))}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) createHeartbeat(w http.ResponseWriter, r *http.Request) error {
	var in heartbeat.Fields
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Heartbeats.Create(r.Context(), in)
	if err != nil {
		return err
	}
	// The answer holds the key, shown this once.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/api/v1/heartbeats/"+itoa(out.ID))
	return writeVersioned(w, http.StatusCreated, out.Version, out)
}

func (s *Server) rotateHeartbeatKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.Heartbeats.RotateKey(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

// heartbeatState pauses or resumes a heartbeat.
func (s *Server) heartbeatState(pause bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		change := s.Heartbeats.Resume
		if pause {
			change = s.Heartbeats.Pause
		}
		out, err := change(r.Context(), id)
		if err != nil {
			return err
		}
		return writeVersioned(w, http.StatusOK, out.Version, out)
	}
}

// beatHeartbeat records a beat. The last path segment is the heartbeat's
// secret key, not its id: the route shares its pattern with GET, PATCH and
// DELETE /api/v1/heartbeats/{id} because OpenAPI allows one name per path
// segment, and a key (hb_…) is never a number.
func (s *Server) beatHeartbeat(w http.ResponseWriter, r *http.Request) error {
	httpx.SecretPath(w) // the path holds the key
	out, err := s.Heartbeats.Beat(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusAccepted, out)
}

func heartbeatRef(x heartbeat.Heartbeat) (id, version int64) { return x.ID, x.Version }
