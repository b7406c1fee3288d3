// Command goserver is the Go baseline: net/http (standard library only) on a unix socket, serving
// the same ping JSON and headers as stewardd.
package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	path := os.Args[1]
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		panic(err)
	}
	os.Chmod(path, 0600)
	body := []byte(`{"ServerVersion":"0.1.0","status":"OK"}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v4/system/ping", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-ID", "baselinebaselinebaseline00")
		h.Set("X-Version-ID", "0.1.0.steward.0.false")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Expires", "0")
		w.Write(body)
	})
	http.Serve(l, mux)
}
