// Package page implements cursor pagination: a list request carries a limit
// and an opaque cursor, a list answer carries its items and the next cursor.
package page

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/platform/errs"
)

const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Request is a page request: at most Limit items after the key in After.
type Request struct {
	Limit int
	// After is the decoded cursor: the sort key of the last item already seen,
	// 0 for the first page.
	After int64
}

// Parse reads ?limit= and ?after= values.
func Parse(limit, after string) (Request, error) {
	r := Request{Limit: DefaultLimit}
	var fe errs.Fields
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxLimit {
			fe.Add("limit", "must be a whole number from 1 to 1000")
		} else {
			r.Limit = n
		}
	}
	if after != "" {
		k, ok := Decode(after)
		if !ok {
			fe.Add("after", "is not a cursor this server issued")
		}
		r.After = k
	}
	return r, fe.Err()
}

// Encode makes the opaque cursor for a key.
func Encode(key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k:" + strconv.FormatInt(key, 10)))
}

// Decode reads a cursor made by Encode.
func Decode(cursor string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "k:")
	if !ok {
		return 0, false
	}
	k, err := strconv.ParseInt(s, 10, 64)
	return k, err == nil && k > 0
}

// List is one page of items and the cursor of the next page ("" at the end).
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// Cut builds a List from up to Limit+1 fetched items: fetching one more than
// asked tells whether a next page exists without a second query.
func Cut[T any](items []T, r Request, key func(T) int64) List[T] {
	out := List[T]{Items: items}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(items) > r.Limit {
		out.Items = items[:r.Limit]
		out.Next = Encode(key(out.Items[r.Limit-1]))
	}
	return out
}
