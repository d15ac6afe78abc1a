package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client talks to a Steady server over its REST API.
type client struct {
	base  string
	token string
	http  *http.Client
	// key is true when token is a service's integration key (event send),
	// not an API token: it only changes what a refusal says.
	key bool
}

func (e *env) client() *client {
	return &client{base: strings.TrimRight(e.server, "/"), token: e.token, http: &http.Client{Timeout: 30 * time.Second}}
}

// problem is the part of an RFC 9457 problem document the CLI shows.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
	RequestID string `json:"request_id"`
}

// do sends a request and decodes a JSON answer into out (when not nil). It
// turns the usual failures into messages a person can act on.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("--server must be a URL such as http://127.0.0.1:8080, not %q", c.base)}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
			return fmt.Errorf("cannot reach the Steady server at %s (is it running? set --server or STEADY_SERVER): %v", c.base, err)
		}
		return fmt.Errorf("cannot reach the Steady server at %s: %v", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var p problem
		_ = json.Unmarshal(data, &p)
		msg := p.Detail
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		for _, f := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Detail)
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			if c.key {
				if c.token == "" {
					return fmt.Errorf("sending events needs a service's integration key: set --key or STEADY_INTEGRATION_KEY")
				}
				return fmt.Errorf("the server refused the integration key: %s", msg)
			}
			if c.token == "" {
				return fmt.Errorf("the server needs an API token: set --token or STEADY_TOKEN")
			}
			return fmt.Errorf("the server refused the token: %s", msg)
		case http.StatusForbidden:
			return fmt.Errorf("not allowed: %s", msg)
		}
		return fmt.Errorf("%s (HTTP %d): %s", strings.ToLower(p.Title), resp.StatusCode, msg)
	}
	if raw, ok := out.(*string); ok {
		*raw = string(data)
		return nil
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("the server's answer is not what this client expects (different versions?): %w", err)
		}
	}
	return nil
}

// text gets a non-JSON answer (a report) as it is.
func (c *client) text(ctx context.Context, path string) (string, error) {
	var s string
	err := c.do(ctx, "GET", path, nil, &s)
	return s, err
}
