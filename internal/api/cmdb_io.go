package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// CMDB import, export, discovery and the configuration audit.

// CMDBFileLimit caps an import file or a discovery feed.
const CMDBFileLimit = cmdb.MaxImportBytes

// queryBool reads an optional true/false query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, errs.Invalid(name, "must be true or false")
}

// fileFormat is the format of a posted file: ?format= first, else its
// Content-Type, else "" (guess from the content).
func fileFormat(r *http.Request) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		if cmdb.ParseFormat(f) == "" {
			return "", errs.Invalid("format", "must be csv, json or yaml")
		}
		return cmdb.ParseFormat(f), nil
	}
	return mediaFormat(r.Header.Get("Content-Type")), nil
}

// mediaFormat is the file format a media type names, "" for none.
func mediaFormat(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch mt {
	case "text/csv", "application/csv":
		return cmdb.FormatCSV
	case "application/json":
		return cmdb.FormatJSON
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return cmdb.FormatYAML
	}
	return ""
}

// fileBody reads a posted file and reports a body past its limit as a
// too-large problem, which the CMDB's readers pass on as it is.
type fileBody struct{ r io.Reader }

func (b fileBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errs.TooLarge("the file is larger than %d bytes", mbe.Limit)
	}
	return n, err
}

func (s *Server) importCIs(w http.ResponseWriter, r *http.Request) error {
	format, err := fileFormat(r)
	if err != nil {
		return err
	}
	var opts cmdb.ImportOptions
	opts.Format = format
	if opts.DryRun, err = queryBool(r, "dry_run"); err != nil {
		return err
	}
	if opts.ValidOnly, err = queryBool(r, "valid_only"); err != nil {
		return err
	}
	res, err := s.CMDB.Import(r.Context(), fileBody{r.Body}, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// exportFilter reads the selection of an export from the query.
func exportFilter(r *http.Request) (cmdb.ExportFilter, error) {
	q := r.URL.Query()
	f := cmdb.ExportFilter{Class: q.Get("class"), Environment: q.Get("environment"), Team: q.Get("team"), Q: q.Get("q")}
	if v := strings.TrimSpace(q.Get("ids")); v != "" {
		for _, p := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil || id < 1 {
				return f, errs.Invalid("ids", "must be CI ids separated by commas")
			}
			f.IDs = append(f.IDs, id)
		}
	}
	return f, nil
}

// exportTypes are the media types of the export formats.
var exportTypes = map[string]string{cmdb.FormatCSV: "text/csv; charset=utf-8", cmdb.FormatJSON: "application/json",
	cmdb.FormatYAML: "application/yaml"}

func (s *Server) exportCIs(w http.ResponseWriter, r *http.Request) error {
	format := cmdb.FormatCSV
	if v := r.URL.Query().Get("format"); v != "" {
		if format = cmdb.ParseFormat(v); format == "" {
			return errs.Invalid("format", "must be csv, json or yaml")
		}
	}
	f, err := exportFilter(r)
	if err != nil {
		return err
	}
	items, err := s.CMDB.Export(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", exportTypes[format])
	w.Header().Set("Content-Disposition", `attachment; filename="cis.`+format+`"`)
	w.WriteHeader(http.StatusOK)
	return cmdb.WriteItems(w, format, items)
}

func (s *Server) discover(w http.ResponseWriter, r *http.Request) error {
	format, err := fileFormat(r)
	if err != nil {
		return err
	}
	if format == cmdb.FormatCSV {
		return errs.Invalid("format", "must be json or yaml: a feed holds items as the JSON import does")
	}
	res, err := s.CMDB.Discover(r.Context(), r.PathValue("source"), fileBody{r.Body}, format)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) configurationAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	o := cmdb.AuditOptions{Rule: r.URL.Query().Get("rule")}
	if v := r.URL.Query().Get("not_seen_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errs.Invalid("not_seen_days", "must be a whole number of days from 1 to 3650")
		}
		o.NotSeenDays = n
	}
	rep, err := s.CMDB.ConfigurationAudit(r.Context(), o, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
