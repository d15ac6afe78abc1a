package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	"github.com/steadyhq/steady/internal/cmdb"
)

// cmdbCSV is what the demo services run on, in the CMDB's import format.
//
//go:embed cmdb.csv
var cmdbCSV []byte

// seedCMDB imports the demo estate's CIs and relationships (the services
// are CIs already) and gives the load-balancer pair a redundancy rule.
func seedCMDB(ctx context.Context, e Estate) error {
	res, err := e.CMDB.Import(ctx, bytes.NewReader(cmdbCSV), cmdb.ImportOptions{Format: "csv"})
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("demo CMDB: %v", res.Errors[0])
	}
	lb, err := e.CMDB.FindCI(ctx, e.DB.R, "demo:edge-lb")
	if err != nil {
		return err
	}
	_, err = e.CMDB.SetRedundancy(ctx, lb.ID, 1)
	return err
}
