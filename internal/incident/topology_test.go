package incident

import (
	"fmt"
	"strings"
	"testing"
)

// fakeTopology is a graph of "x depends on y" edges.
type fakeTopology struct{ deps map[int64][]int64 }

func (f fakeTopology) Upstream(ci int64, depth int) map[int64]int {
	out := map[int64]int{}
	frontier := []int64{ci}
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		var next []int64
		for _, x := range frontier {
			for _, y := range f.deps[x] {
				if _, seen := out[y]; !seen && y != ci {
					out[y] = d
					next = append(next, y)
				}
			}
		}
		frontier = next
	}
	return out
}
func (fakeTopology) Impacted([]int64) []int64 { return nil }
func (fakeTopology) Name(ci int64) string     { return fmt.Sprint(ci) }
func (f fakeTopology) FanIn(ci int64) int {
	n := 0
	for _, ys := range f.deps {
		for _, y := range ys {
			if y == ci {
				n++
			}
		}
	}
	return n
}
func (fakeTopology) Redundancy(int64) (int, []int64) { return 0, nil }

func order(c []cause) string {
	var s []string
	for _, x := range c {
		s = append(s, fmt.Sprint(x.ci))
	}
	return strings.Join(s, ",")
}

func TestRankCauses(t *testing.T) {
	// Apps 1, 2, 3; 1 and 2 on host 10, 3 on host 11; 1 uses db 20, 2 and
	// 3 use db 21; both dbs on db host 30; 30 behind switch 40.
	f := fakeTopology{deps: map[int64][]int64{1: {10, 20}, 2: {10, 21}, 3: {11, 21}, 20: {30}, 21: {30}, 30: {40}}}
	cases := []struct {
		name     string
		affected []int64
		want     string // the first candidates
	}{
		{"one alert: its own CI first, then its upstream, nearest first", []int64{1}, "1,10,20,30"},
		// 30 and 40 have all three apps depending on them: the nearer first;
		// then by how many each explains, alerting ones first.
		{"only the apps alert: the common upstream", []int64{1, 2, 3}, "30,40,10,21,1,2,3,11,20"},
		{"the db host alerts too: it ranks first", []int64{2, 3, 30}, "30,40,21"},
		// 21 alerts, but app 1 does not depend on it; 30 explains all four.
		{"the common upstream of all beats an alerting CI of some", []int64{1, 2, 3, 21}, "30,40,21"},
		{"an alerting CI that explains all beats a silent one", []int64{2, 3, 21}, "21,30,40"},
	}
	for _, c := range cases {
		got := order(rankCauses(f, c.affected))
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %s, want it to start %s", c.name, got, c.want)
		}
	}
}
