package api_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestPaging walks every list endpoint page by page: the pages join up to
// the whole list, in order, with nothing twice and nothing left out.
func TestPaging(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		for i := range 7 {
			u := id(c.do("POST", "/api/v1/users", admin, map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "name": fmt.Sprintf("P%d", i),
				"role": iam.Roles[i%len(iam.Roles)]}).Want(201))
			c.do("POST", "/api/v1/teams", admin, map[string]any{"name": fmt.Sprintf("Team %d", i)}).Want(201)
			c.do("POST", "/api/v1/tokens", admin, map[string]any{"name": fmt.Sprintf("tok %d", i), "user_id": u}).Want(201)
			sv := s.NewService(fmt.Sprintf("Service %d", i))
			c.do("POST", "/api/v1/events", sv.Key, []map[string]any{{"summary": "a", "dedup_key": "a"}, {"summary": "b", "dedup_key": "b"}}).Want(202)
		}

		lists := []struct {
			path string
			key  string
			desc bool
		}{
			{"/api/v1/users", "id", false},
			{"/api/v1/users?role=viewer", "id", false},
			{"/api/v1/teams", "id", false},
			{"/api/v1/teams?q=team", "id", false},
			{"/api/v1/tokens", "id", false},
			{"/api/v1/audit", "seq", true},
			{"/api/v1/audit?action=user.", "seq", true},
			{"/api/v1/services", "id", false},
			{"/api/v1/services?q=service", "id", false},
			{"/api/v1/alerts", "id", true},
			{"/api/v1/alerts?status=triggered&dedup_key=b", "id", true},
		}
		for _, l := range lists {
			t.Run(l.path, func(t *testing.T) {
				c := on(t, s)
				sep := "?"
				if strings.Contains(l.path, "?") {
					sep = "&"
				}
				whole, next := items(c.do("GET", l.path+sep+"limit=1000", admin, nil).Want(200))
				if next != "" || len(whole) < 2 {
					t.Fatalf("the whole list: %d items, next %q", len(whole), next)
				}
				for _, size := range []int{1, 2, 3, len(whole), len(whole) + 1} {
					var keys []float64
					after := ""
					for pages := 0; ; pages++ {
						if pages > len(whole)+1 {
							t.Fatal("paging does not end")
						}
						q := fmt.Sprintf("%s%slimit=%d", l.path, sep, size)
						if after != "" {
							q += "&after=" + after
						}
						got, next := items(c.do("GET", q, admin, nil).Want(200))
						if len(got) > size || (next != "" && len(got) != size) {
							t.Fatalf("limit %d: a page of %d, next %q", size, len(got), next)
						}
						for _, it := range got {
							keys = append(keys, it[l.key].(float64))
						}
						if next == "" {
							break
						}
						after = next
					}
					if len(keys) != len(whole) {
						t.Fatalf("limit %d: %d items over all pages; want %d", size, len(keys), len(whole))
					}
					for i, it := range whole {
						if keys[i] != it[l.key].(float64) {
							t.Fatalf("limit %d: item %d is %v; want %v", size, i, keys[i], it[l.key])
						}
						if i > 0 && (keys[i] > keys[i-1]) == l.desc {
							t.Fatalf("limit %d: not in order: %v", size, keys)
						}
					}
				}
			})
		}

		t.Run("default and bounds", func(t *testing.T) {
			c := on(t, s)
			for i := range 50 {
				c.do("POST", "/api/v1/teams", admin, map[string]any{"name": fmt.Sprintf("Bulk %d", i)}).Want(201)
			}
			got, next := items(c.do("GET", "/api/v1/teams", admin, nil).Want(200))
			if len(got) != page.DefaultLimit || next == "" {
				t.Fatalf("default page: %d items, next %q", len(got), next)
			}
			got, next = items(c.do("GET", "/api/v1/teams?limit=1000", admin, nil).Want(200))
			if len(got) != 57 || next != "" {
				t.Fatalf("limit=1000: %d items, next %q", len(got), next)
			}
			got, _ = items(c.do("GET", "/api/v1/teams?limit=1", admin, nil).Want(200))
			if len(got) != 1 {
				t.Fatalf("limit=1: %d items", len(got))
			}
			for _, bad := range []string{"limit=0", "limit=-1", "limit=1001", "limit=x", "limit=", "after=garbage", "after=" + base64.RawURLEncoding.EncodeToString([]byte("k:0")),
				"after=" + base64.RawURLEncoding.EncodeToString([]byte("x:5")), "after=12"} {
				if bad == "limit=" {
					c.do("GET", "/api/v1/teams?"+bad, admin, nil).Want(200) // empty means the default
					continue
				}
				field := strings.Split(bad, "=")[0]
				wantProblem(c.do("GET", "/api/v1/teams?"+bad, admin, nil), 400, field)
			}
			// A cursor past the end gives an empty last page.
			got, next = items(c.do("GET", "/api/v1/teams?after="+page.Encode(1<<40), admin, nil).Want(200))
			if len(got) != 0 || next != "" {
				t.Fatalf("past the end: %v %q", got, next)
			}
		})
	})
}
