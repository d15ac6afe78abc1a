package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// CMDB import (paste or upload a file, preview the diff, apply) and the
// configuration audit report. Managers import; everyone signed in reads the
// audit. Files larger than a form can carry go through the API or
// "steady ci import".

type importData struct {
	Formats []option
	Result  *cmdb.ImportResult
	// Errors are the problems that stopped the import (or, with Result,
	// that an apply refused).
	Errors []string
	// Preview is true when Result is a dry run that may be applied.
	Preview bool
	Limit   int
}

func importFormats() []option {
	return []option{{"", "Guess from the content"}, {"csv", "CSV"}, {"json", "JSON"}, {"yaml", "YAML"}}
}

func (s *Server) showImport(w http.ResponseWriter, r *http.Request, status int, f *form, d importData) error {
	d.Formats, d.Limit = importFormats(), maxFormBytes/1024
	return s.render(w, r, status, s.v.cmdbImport, view{Title: "Import CIs", Nav: "cmdb", Form: f, Data: d})
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	return s.showImport(w, r, http.StatusOK, newForm(nil), importData{})
}

func (s *Server) importCIs(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	content := f.Value("content")
	if strings.TrimSpace(content) == "" {
		f.Fail("content", "is required: paste a file or choose one")
		return invalid(f, func(status int, f *form) error { return s.showImport(w, r, status, f, importData{}) })
	}
	format := f.Get("format")
	if format != "" && cmdb.ParseFormat(format) == "" {
		f.Fail("format", "must be CSV, JSON or YAML")
		return invalid(f, func(status int, f *form) error { return s.showImport(w, r, status, f, importData{}) })
	}
	preview := f.Get("action") != "apply"
	opts := cmdb.ImportOptions{Format: format, DryRun: preview, ValidOnly: f.Get("valid_only") != ""}
	res, err := s.CMDB.Import(r.Context(), strings.NewReader(content), opts)
	if err != nil {
		e, ok := errs.As(err)
		if !ok || (e.Kind != errs.KindInvalid && e.Kind != errs.KindTooLarge) {
			return err
		}
		d := importData{}
		if res.Format != "" {
			d.Result = &res
		}
		if len(e.Fields) == 0 {
			d.Errors = append(d.Errors, sentence(e.Message))
		}
		for _, fe := range e.Fields {
			d.Errors = append(d.Errors, fe.Field+": "+fe.Detail)
		}
		f.Message = sentence(e.Message)
		return s.showImport(w, r, http.StatusBadRequest, f, d)
	}
	d := importData{Result: &res, Preview: preview}
	if !preview && res.Counts.Failed == 0 && res.Counts.RelationsFailed == 0 {
		f = newForm(nil).Set("format", format) // applied whole: start afresh
	}
	return s.showImport(w, r, http.StatusOK, f, d)
}

// The configuration audit.

type auditFindingsData struct {
	Rules       []auditRuleRow
	Findings    []cmdb.Finding
	RuleOptions []option
	Pager       pager
	Rule        string
	Total       int
}

type auditRuleRow struct {
	Rule, Text string
	Count      int
	Link       string
}

func (s *Server) cmdbAuditPage(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f := newForm(r.URL.Query())
	d := auditFindingsData{RuleOptions: []option{{"", "Every rule"}}}
	for _, rule := range cmdb.AuditRules {
		d.RuleOptions = append(d.RuleOptions, option{rule, rule})
	}
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.cmdbAudit, view{Title: "Configuration audit", Nav: "cmdb", Form: f, Data: d})
	}
	o := cmdb.AuditOptions{Rule: f.Get("rule")}
	if v := f.Get("not_seen_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			f.Fail("not_seen_days", "must be a whole number of days from 1 to 3650")
			return invalid(f, show)
		}
		o.NotSeenDays = n
	}
	rep, err := s.CMDB.ConfigurationAudit(r.Context(), o, p)
	if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
		return s.retry(w, r, err, f, nil, show)
	} else if err != nil {
		return err
	}
	d.Rule, d.Findings, d.Pager = o.Rule, rep.Items, pagerOf(r, rep.Next)
	for _, rule := range cmdb.AuditRules {
		text := cmdb.AuditRuleText[rule]
		if rule == cmdb.RuleNotSeen {
			text = strings.Replace(text, "N days", strconv.Itoa(rep.NotSeenDays)+" days", 1)
		}
		q := "/cmdb/audit?rule=" + rule
		if o.NotSeenDays != 0 {
			q += "&not_seen_days=" + strconv.Itoa(o.NotSeenDays)
		}
		d.Rules = append(d.Rules, auditRuleRow{Rule: rule, Text: text, Count: rep.Counts[rule], Link: q})
		d.Total += rep.Counts[rule]
	}
	return show(http.StatusOK, f)
}
