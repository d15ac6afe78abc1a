package incident

import (
	"fmt"
	"strings"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// Impact and urgency run from 1 (high) to 3 (low), as in ITIL.
const (
	High   = 1
	Medium = 2
	Low    = 3
)

// Matrix maps impact × urgency to a priority P1 (most urgent) … P5.
type Matrix [3][3]string

// DefaultMatrix is ITIL's: the sum of impact and urgency decides.
func DefaultMatrix() Matrix {
	return Matrix{
		{"P1", "P2", "P3"},
		{"P2", "P3", "P4"},
		{"P3", "P4", "P5"},
	}
}

// Priority looks up impact × urgency.
func (m Matrix) Priority(impact, urgency int) string {
	if impact < 1 || impact > 3 || urgency < 1 || urgency > 3 {
		return "P3"
	}
	return m[impact-1][urgency-1]
}

// Validate checks that every cell is P1…P5.
func (m Matrix) Validate() error {
	var f errs.Fields
	for i, row := range m {
		for j, p := range row {
			f.Check(!ValidPriority(p), fmt.Sprintf("matrix[%d][%d]", i, j), "must be P1, P2, P3, P4 or P5")
		}
	}
	return f.Err()
}

// ValidPriority reports whether p is P1…P5.
func ValidPriority(p string) bool {
	return len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5'
}

// ParseLevel reads an impact or urgency: 1-3 or high/medium/low.
func ParseLevel(s string) (int, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "high":
		return High, true
	case "2", "medium":
		return Medium, true
	case "3", "low":
		return Low, true
	}
	return 0, false
}

// impactOf is the impact of an incident on a service of this criticality.
func impactOf(criticality string) int {
	switch criticality {
	case "critical", "high":
		return High
	case "low":
		return Low
	}
	return Medium
}

// urgencyOf is the urgency an alert of this severity asks for.
func urgencyOf(severity string) int {
	switch severity {
	case "critical", "error":
		return High
	case "warning":
		return Medium
	}
	return Low
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "error":
		return 3
	case "warning":
		return 2
	case "info":
		return 1
	}
	return 0
}
