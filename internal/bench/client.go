// Package bench drives load against a Steady server (and, for comparison, a
// Prometheus Alertmanager) and measures what it gets: events per second,
// latency percentiles and errors. It backs `steady bench`.
//
// The load generator shares the machine with the server, so it is written to
// cost as little as it can: each client is one keep-alive HTTP/1.1
// connection that writes ready-made requests and reads only the status line,
// the headers it needs and the body.
package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection to a loopback server.
type conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	body []byte
}

// loopback checks that a server URL names this machine, and returns its
// host:port: the load generator sends traffic nowhere else.
func loopback(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("server URL %q must be http://127.0.0.1:PORT (plain HTTP on loopback)", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("server URL %q is not a loopback address: the benchmark only sends traffic to this machine", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(host, port), nil
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{addr: addr, c: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends one complete request and reads the answer. The body it returns
// is valid until the next call. A broken connection is redialled once.
func (c *conn) do(req []byte) (int, []byte, error) {
	status, body, err := c.try(req)
	if err != nil && c.c == nil {
		// The server closed the connection (keep-alive timeout, restart):
		// one more try on a new one.
		nc, derr := dial(c.addr)
		if derr != nil {
			return 0, nil, err
		}
		*c = *nc
		return c.try(req)
	}
	return status, body, err
}

func (c *conn) try(req []byte) (int, []byte, error) {
	if c.c == nil {
		nc, err := dial(c.addr)
		if err != nil {
			return 0, nil, err
		}
		*c = *nc
	}
	_ = c.c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, nil, err
	}
	status, body, keep, err := c.read()
	if err != nil || !keep {
		c.close()
	}
	return status, body, err
}

var (
	hdrContentLength = []byte("content-length")
	hdrTransfer      = []byte("transfer-encoding")
	hdrConnection    = []byte("connection")
)

func (c *conn) read() (status int, body []byte, keep bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 202 Accepted
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) <= 2 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		name, value := bytes.ToLower(bytes.TrimSpace(line[:i])), bytes.TrimSpace(line[i+1:])
		switch {
		case bytes.Equal(name, hdrContentLength):
			length, err = strconv.Atoi(string(value))
			if err != nil {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.Equal(name, hdrTransfer):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.Equal(name, hdrConnection):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		for {
			line, err = c.br.ReadSlice('\n')
			if err != nil {
				return 0, nil, false, err
			}
			n, perr := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if perr != nil {
				return 0, nil, false, fmt.Errorf("bad chunk size %q", line)
			}
			if n == 0 {
				// Trailers end with an empty line.
				for {
					line, err = c.br.ReadSlice('\n')
					if err != nil {
						return 0, nil, false, err
					}
					if len(line) <= 2 {
						break
					}
				}
				break
			}
			start := len(c.body)
			c.body = append(c.body, make([]byte, n)...)
			if _, err := io.ReadFull(c.br, c.body[start:]); err != nil {
				return 0, nil, false, err
			}
			if _, err := c.br.Discard(2); err != nil {
				return 0, nil, false, err
			}
		}
	case length >= 0:
		if cap(c.body) < length {
			c.body = make([]byte, length)
		}
		c.body = c.body[:length]
		if _, err := io.ReadFull(c.br, c.body); err != nil {
			return 0, nil, false, err
		}
	default:
		return status, nil, false, errors.New("answer without Content-Length")
	}
	return status, c.body, keep, nil
}

// request builds a POST with a JSON body into buf.
func request(buf []byte, host, path, auth string, body []byte) []byte {
	buf = append(buf[:0], "POST "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nContent-Type: application/json\r\nUser-Agent: steady-bench\r\n"...)
	if auth != "" {
		buf = append(buf, "Authorization: Bearer "...)
		buf = append(buf, auth...)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "Content-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// get builds a GET into buf.
func get(buf []byte, host, path, auth string) []byte {
	buf = append(buf[:0], "GET "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nUser-Agent: steady-bench\r\n"...)
	if auth != "" {
		buf = append(buf, "Authorization: Bearer "...)
		buf = append(buf, auth...)
		buf = append(buf, "\r\n"...)
	}
	return append(buf, "\r\n"...)
}
