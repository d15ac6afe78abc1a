package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
)

// The OpenAPI document is openapi/openapi.json (info, shared components and
// the foundation's paths) and one fragment per capability beside it
// (openapi/<capability>.json), each holding the "tags", "paths" and
// "components" of that capability. They are merged once, at start; a key
// defined twice stops the program, so a fragment can never silently replace
// another's entry.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

var openAPIDoc = mustMergeOpenAPI(openAPIFiles)

// OpenAPI returns the merged OpenAPI 3.1 document.
func OpenAPI() []byte { return openAPIDoc }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
	_, err := w.Write(openAPIDoc)
	return err
}

func mustMergeOpenAPI(files fs.FS) []byte {
	b, err := mergeOpenAPI(files)
	if err != nil {
		panic(err)
	}
	return b
}

func mergeOpenAPI(files fs.FS) ([]byte, error) {
	var doc map[string]any
	if err := readJSON(files, "openapi/openapi.json", &doc); err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "openapi/openapi.json" {
			continue
		}
		var frag struct {
			Tags       []any                     `json:"tags"`
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := readJSON(files, name, &frag); err != nil {
			return nil, err
		}
		doc["tags"] = append(doc["tags"].([]any), frag.Tags...)
		if err := mergeKeys(doc["paths"].(map[string]any), frag.Paths, name, "paths"); err != nil {
			return nil, err
		}
		comps := doc["components"].(map[string]any)
		for kind, entries := range frag.Components {
			into, _ := comps[kind].(map[string]any)
			if into == nil {
				into = map[string]any{}
				comps[kind] = into
			}
			if err := mergeKeys(into, entries, name, "components."+kind); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(doc)
}

func readJSON(files fs.FS, name string, v any) error {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path.Base(name), err)
	}
	return nil
}

func mergeKeys(into, from map[string]any, file, what string) error {
	for k, v := range from {
		if _, dup := into[k]; dup {
			return fmt.Errorf("%s: %s %q is already defined", path.Base(file), what, k)
		}
		into[k] = v
	}
	return nil
}
