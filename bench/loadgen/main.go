// Command loadgen drives HTTP/1.1 load over a unix socket: keep-alive or one connection per
// request, N concurrent connections, a fixed duration. Standard library only. It prints one JSON
// object with requests per second and latency percentiles.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type result struct {
	Server    string  `json:"server"`
	Mode      string  `json:"mode"`
	Conns     int     `json:"conns"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	ReqPerSec float64 `json:"req_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	// BodyBytes is the size of the last answer's body: equal sizes make a fair comparison.
	BodyBytes int `json:"body_bytes"`
}

// expectStatus is the status line's prefix every answer must have.
var expectStatus = "HTTP/1.1 200"

func readResponse(r *bufio.Reader) (int, error) {
	tp := textproto.NewReader(r)
	status, err := tp.ReadLine()
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(status, expectStatus) {
		return 0, fmt.Errorf("status %q", status)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		return 0, fmt.Errorf("no content-length")
	}
	_, err = io.CopyN(io.Discard, r, int64(n))
	return n, err
}

func main() {
	socket := flag.String("socket", "", "unix socket path")
	path := flag.String("path", "/api/v4/system/ping", "request path")
	conns := flag.Int("conns", 4, "concurrent connections")
	duration := flag.Duration("duration", 5*time.Second, "how long to run")
	keepAlive := flag.Bool("keepalive", true, "reuse connections")
	name := flag.String("name", "", "server name for the report")
	method := flag.String("method", "GET", "request method")
	body := flag.String("body", "", "request body (sent with Content-Length)")
	status := flag.Int("status", 200, "the status every answer must have")
	firstAnswer := flag.Bool("first-answer", false, "measure one request from connect to answer (socket activation) and exit")
	flag.Parse()
	expectStatus = fmt.Sprintf("HTTP/1.1 %d", *status)

	if *firstAnswer {
		start := time.Now()
		c, err := net.Dial("unix", *socket)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: _\r\nConnection: close\r\n\r\n", *path)
		if _, err := readResponse(bufio.NewReader(c)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%.3f\n", float64(time.Since(start).Microseconds())/1000)
		return
	}

	framing := ""
	if *body != "" {
		framing = fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\n", len(*body))
	}
	req := []byte(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: _\r\n%s\r\n%s", *method, *path, framing, *body))
	reqClose := []byte(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: _\r\nConnection: close\r\n%s\r\n%s", *method, *path, framing, *body))
	bodyBytes := 0
	deadline := time.Now().Add(*duration)
	var mu sync.Mutex
	var all []time.Duration
	errors := 0
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<16)
			errs := 0
			size := 0
			var c net.Conn
			var r *bufio.Reader
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if c == nil {
					var err error
					c, err = net.Dial("unix", *socket)
					if err != nil {
						errs++
						time.Sleep(time.Millisecond)
						continue
					}
					r = bufio.NewReaderSize(c, 8192)
				}
				payload := req
				if !*keepAlive {
					payload = reqClose
				}
				if _, err := c.Write(payload); err != nil {
					errs++
					c.Close()
					c = nil
					continue
				}
				n, err := readResponse(r)
				if err != nil {
					if errs == 0 {
						fmt.Fprintln(os.Stderr, *name, err)
					}
					errs++
					c.Close()
					c = nil
					continue
				}
				lat = append(lat, time.Since(t0))
				size = n
				if !*keepAlive {
					c.Close()
					c = nil
				}
			}
			if c != nil {
				c.Close()
			}
			mu.Lock()
			all = append(all, lat...)
			errors += errs
			if size > 0 {
				bodyBytes = size
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(float64(len(all)-1)*p)].Nanoseconds()) / 1000
	}
	mode := "keepalive"
	if !*keepAlive {
		mode = "close"
	}
	out := result{Server: *name, Mode: mode, Conns: *conns, Requests: len(all), Errors: errors,
		ReqPerSec: float64(len(all)) / duration.Seconds(), P50us: pct(0.50), P99us: pct(0.99), BodyBytes: bodyBytes}
	json.NewEncoder(os.Stdout).Encode(out)
}
