package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// IdempotencyTTL is how long a stored answer to an Idempotency-Key is replayed.
const IdempotencyTTL = 24 * time.Hour

// claimTimeout is how long a key stays claimed by a request that never finished
// (its process died) before a retry may take it over.
const claimTimeout = time.Minute

// idempotent makes a POST safe to retry: the first request with a key claims
// it and its answer is stored; a repeat with the same key and body gets the
// stored answer back (Idempotent-Replayed: true); the same key with another
// body, or while the first is still running, is a conflict. 5xx answers are
// not stored, so a failed request can be retried.
func (s *Server) idempotent(next func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < ' ' || c > '~' }) {
			return errs.Invalid("Idempotency-Key", "must be at most 255 printable ASCII characters")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return decodeError(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p, _ := iam.PrincipalFrom(r.Context())
		principal := "token:" + strconv.FormatInt(p.TokenID, 10)
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"), body...))
		hash := hex.EncodeToString(sum[:])
		ctx := r.Context()
		now := s.Clock.Now().UnixMilli()

		claimed := false
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			var (
				reqHash, ct string
				status      int
				resp        []byte
				created     int64
			)
			err := tx.QueryRowContext(ctx, `SELECT request_hash, status, content_type, response, created_at
				FROM idempotency_keys WHERE principal = $1 AND key = $2`, principal, key).Scan(&reqHash, &status, &ct, &resp, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case now-created > IdempotencyTTL.Milliseconds() || (status == 0 && now-created > claimTimeout.Milliseconds()):
				if _, err := tx.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2", principal, key); err != nil {
					return err
				}
			case reqHash != hash:
				return &errs.Error{Kind: errs.KindConflict, Message: "this Idempotency-Key was used with a different request",
					Fields: []errs.FieldError{{Field: "Idempotency-Key", Detail: "was used with another method, path or body"}}}
			case status == 0:
				return &errs.Error{Kind: errs.KindConflict, Message: "a request with this Idempotency-Key is still running", RetryAfter: 1}
			default:
				w.Header().Set("Content-Type", ct)
				w.Header().Set("Idempotent-Replayed", "true")
				// A stored answer may hold a secret (a new token's).
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(status)
				_, _ = w.Write(resp)
				return nil
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, principal, key, r.Method, r.URL.Path, hash, now)
			if db.IsUniqueViolation(err) {
				// Another request with this key claimed it since our SELECT.
				return &errs.Error{Kind: errs.KindConflict, Message: "a request with this Idempotency-Key is still running", RetryAfter: 1}
			}
			claimed = err == nil
			return err
		})
		if err != nil || !claimed {
			return err
		}
		rec := &recorder{ResponseWriter: w}
		herr := next(rec, r)
		if herr != nil {
			s.writeError(rec, r, herr)
		}
		if rec.status >= 500 || rec.status == 0 {
			_, _ = s.DB.W.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2", principal, key)
			return nil
		}
		_, err = s.DB.W.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, content_type = $2, response = $3
			WHERE principal = $4 AND key = $5`, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes(), principal, key)
		if err != nil {
			s.Log.ErrorContext(ctx, "store idempotent answer", "error", db.Classify(err))
		}
		return nil
	}
}

// PruneIdempotencyKeys forgets stored answers older than IdempotencyTTL.
func (s *Server) PruneIdempotencyKeys(ctx context.Context) error {
	cut := s.Clock.Now().Add(-IdempotencyTTL).UnixMilli()
	_, err := s.DB.W.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_at < $1", cut)
	return db.Classify(err)
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
