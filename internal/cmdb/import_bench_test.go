package cmdb_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// benchCSV is an estate of n CIs: servers, VMs on them, applications on
// the VMs, databases; every row with an external id and attributes.
func benchCSV(n int, prefix string) []byte {
	var b bytes.Buffer
	b.WriteString("class,name,external_id,source,environment,location,lifecycle,attr.ip,attr.os,attr.cpus,attr.version\n")
	for i := range n {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "server,%[1]s-srv-%[2]d,%[1]s-%[2]d,bench,production,dc-%[3]d,in_use,10.%[4]d.%[5]d.%[6]d,linux,%[7]d,\n",
				prefix, i, i%3, i/65536%256, i/256%256, i%256, 8+i%8)
		case 1:
			fmt.Fprintf(&b, "virtual_machine,%[1]s-vm-%[2]d,%[1]s-%[2]d,bench,production,dc-%[3]d,in_use,10.%[4]d.%[5]d.%[6]d,linux,%[7]d,\n",
				prefix, i, i%3, i/65536%256, i/256%256, i%256, 2+i%4)
		case 2:
			fmt.Fprintf(&b, "application,%[1]s-app-%[2]d,%[1]s-%[2]d,bench,staging,,in_use,,,,1.%[3]d\n", prefix, i, i%20)
		default:
			fmt.Fprintf(&b, "database,%[1]s-db-%[2]d,%[1]s-%[2]d,bench,production,dc-1,planned,,,,%[3]d\n", prefix, i, 10+i%6)
		}
	}
	return b.Bytes()
}

// BenchmarkImportCSV imports 100,000 new CIs from CSV per iteration into
// SQLite (STEADY_BENCH_ROWS would be the knob if there were one: the
// figure the issue sets is for 100,000). Run with -benchtime=1x.
func BenchmarkImportCSV(b *testing.B) {
	const rows = 100_000
	s := testkit.Start(b, db.SQLite)
	ctx := iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "bench@example.com", Role: iam.RoleManager})
	files := make([][]byte, b.N)
	for i := range files {
		files[i] = benchCSV(rows, fmt.Sprintf("b%d", i))
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		res, err := s.App.CMDB.Import(ctx, bytes.NewReader(files[i]), cmdb.ImportOptions{Format: cmdb.FormatCSV})
		if err != nil {
			b.Fatal(err)
		}
		if res.Counts.Created != rows {
			b.Fatalf("created %d of %d: %v", res.Counts.Created, rows, res.Errors[:min(5, len(res.Errors))])
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(rows*b.N)/el.Seconds(), "CIs/s")
	b.ReportMetric(el.Seconds()/float64(b.N), "s/import")
}
