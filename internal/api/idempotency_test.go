package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestIdempotency(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		admin := s.AdminToken
		c := on(t, s)
		owner := c.user(iam.RoleViewer)
		tokensNamed := func(c *client, name string) int64 {
			return c.count("SELECT COUNT(*) FROM api_tokens WHERE name = $1", name)
		}
		auditFor := func(c *client, action, name string) int64 {
			return c.count("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND summary LIKE $2", action, "%"+name)
		}

		t.Run("a repeat replays the answer and creates one object", func(t *testing.T) {
			c := on(t, s)
			body := map[string]any{"name": "deploy-bot", "user_id": owner.ID}
			first := c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-1").Want(201)
			if first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatal("the first answer says it is replayed")
			}
			for range 2 {
				again := c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-1").Want(201)
				if again.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatal("a replay without Idempotent-Replayed: true")
				}
				if !bytes.Equal(again.Body, first.Body) {
					t.Fatalf("replay %s differs from the answer %s", again.Body, first.Body)
				}
				if again.Header.Get("Content-Type") != "application/json" || again.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("replay headers %v", again.Header)
				}
			}
			if n := tokensNamed(c, "deploy-bot"); n != 1 {
				t.Fatalf("%d tokens; want 1", n)
			}
			if n := auditFor(c, "token.create", "deploy-bot"); n != 1 {
				t.Fatalf("%d audit entries; want 1", n)
			}
			// The replayed secret is the one that works.
			var tok struct{ Token string }
			first.JSON(&tok)
			c.do("GET", "/api/v1/users/me", tok.Token, nil).Want(200)
		})

		t.Run("the same key with another request is a conflict", func(t *testing.T) {
			c := on(t, s)
			c.do("POST", "/api/v1/tokens", admin, map[string]any{"name": "k2", "user_id": owner.ID}, "Idempotency-Key", "key-2").Want(201)
			wantProblem(c.do("POST", "/api/v1/tokens", admin, map[string]any{"name": "k2-other", "user_id": owner.ID}, "Idempotency-Key", "key-2"),
				409, "Idempotency-Key")
			wantProblem(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "k2", "user_id": owner.ID}, "Idempotency-Key", "key-2"),
				409, "Idempotency-Key")
			if tokensNamed(c, "k2-other") != 0 || c.count("SELECT COUNT(*) FROM teams") != 0 {
				t.Fatal("a conflicting request wrote")
			}
		})

		t.Run("keys are per token", func(t *testing.T) {
			c := on(t, s)
			body := map[string]any{"name": "per-token", "user_id": owner.ID}
			c.do("POST", "/api/v1/tokens", owner.Token, body, "Idempotency-Key", "key-3").Want(201)
			r := c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-3").Want(201)
			if r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatal("one token's key replayed another token's answer")
			}
			if n := tokensNamed(c, "per-token"); n != 2 {
				t.Fatalf("%d tokens; want 2", n)
			}
		})

		t.Run("without a key every POST acts", func(t *testing.T) {
			c := on(t, s)
			body := map[string]any{"name": "no-key", "user_id": owner.ID}
			c.do("POST", "/api/v1/tokens", admin, body).Want(201)
			c.do("POST", "/api/v1/tokens", admin, body).Want(201)
			if n := tokensNamed(c, "no-key"); n != 2 {
				t.Fatalf("%d tokens; want 2", n)
			}
		})

		t.Run("client errors are replayed too", func(t *testing.T) {
			c := on(t, s)
			first := wantProblem(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": ""}, "Idempotency-Key", "key-4"), 400, "name")
			again := c.do("POST", "/api/v1/teams", admin, map[string]any{"name": ""}, "Idempotency-Key", "key-4").Want(400)
			if again.Header.Get("Idempotent-Replayed") != "true" || again.Problem().Detail != first.Detail {
				t.Fatalf("replay %v %s", again.Header, again.Body)
			}
		})

		t.Run("a key is forgotten after a day", func(t *testing.T) {
			c := on(t, s)
			body := map[string]any{"name": "daily", "user_id": owner.ID}
			c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-5").Want(201)
			s.Clock.Advance(23 * time.Hour)
			c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-5").Want(201)
			if n := tokensNamed(c, "daily"); n != 1 {
				t.Fatalf("%d tokens within the day; want 1", n)
			}
			s.Clock.Advance(2 * time.Hour)
			r := c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "key-5").Want(201)
			if r.Header.Get("Idempotent-Replayed") != "" || tokensNamed(c, "daily") != 2 {
				t.Fatal("a key older than a day was replayed")
			}
			if err := s.App.API.PruneIdempotencyKeys(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := c.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'key-1'"); n != 0 {
				t.Fatal("prune kept an expired key")
			}
		})

		t.Run("a claim whose request died is taken over after a minute", func(t *testing.T) {
			c := on(t, s)
			// A request claimed the key and its process died before it answered.
			bootstrap := c.count("SELECT id FROM api_tokens WHERE name = 'bootstrap'")
			body := map[string]any{"name": "after a crash", "user_id": owner.ID}
			raw, _ := json.Marshal(body) // as the client sends it
			sum := sha256.Sum256(append([]byte("POST /api/v1/tokens\n"), raw...))
			if _, err := s.App.DB.W.Exec(`INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at)
				VALUES ($1, 'stuck', 'POST', '/api/v1/tokens', $2, $3)`, path("token:%d", bootstrap), hex.EncodeToString(sum[:]), s.Clock.Now().UnixMilli()); err != nil {
				t.Fatal(err)
			}
			r := c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "stuck")
			if r.Status != 409 || r.Header.Get("Retry-After") == "" {
				t.Fatalf("a running claim: %d %v", r.Status, r.Header)
			}
			s.Clock.Advance(2 * time.Minute)
			c.do("POST", "/api/v1/tokens", admin, body, "Idempotency-Key", "stuck").Want(201)
			if n := tokensNamed(c, "after a crash"); n != 1 {
				t.Fatalf("%d tokens", n)
			}
		})

		t.Run("concurrent repeats create one object", func(t *testing.T) {
			c := on(t, s)
			const n = 8
			body, _ := json.Marshal(map[string]any{"name": "racer", "user_id": owner.ID})
			type answer struct {
				status int
				header http.Header
				body   []byte
				err    error
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("POST", s.URL+"/api/v1/tokens", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+admin)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", "race-key")
					<-start
					resp, err := s.HTTP.Do(req)
					if err != nil {
						answers[i].err = err
						return
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					answers[i] = answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
				}()
			}
			close(start)
			wg.Wait()
			var created []byte
			for _, a := range answers {
				if a.err != nil {
					t.Fatal(a.err)
				}
				c.sp.checkResponse(t, "POST", "/api/v1/tokens", a.status, a.header, a.body)
				switch a.status {
				case 201:
					if created != nil && !bytes.Equal(created, a.body) {
						t.Errorf("two different answers to one key:\n%s\n%s", created, a.body)
					}
					created = a.body
				case 409:
					if a.header.Get("Retry-After") == "" {
						t.Errorf("409 while the first request runs without Retry-After: %s", a.body)
					}
				default:
					t.Errorf("status %d: %s", a.status, a.body)
				}
			}
			if k := tokensNamed(c, "racer"); k != 1 {
				t.Fatalf("%d tokens from one key; want 1", k)
			}
		})
	})
}
