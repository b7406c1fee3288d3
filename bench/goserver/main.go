// Command goserver is the Go baseline: net/http on a unix socket, answering the routes the
// benchmark drives with the bytes stewardd sends. The static and in-memory routes use the standard
// library only; with a database path it also serves the jobs routes with Mattermost's own stack —
// database/sql and mattn/go-sqlite3 on the system libsqlite3 — running Mattermost's queries on the
// same schema and encoding model.Job the way Mattermost does (json.Marshal for lists, json.Encoder,
// with its newline, for one job). With a postgres:// DSN instead of a path it runs the same queries
// through lib/pq, Mattermost's PostgreSQL driver.
//
//	goserver SOCKET [DATABASE | postgres://…]
//
// Built in GOPATH mode against Debian's golang-github-mattn-go-sqlite3-dev and
// golang-github-lib-pq-dev (bench/routes.sh).
package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"
)

type job struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Priority       int64             `json:"priority"`
	CreateAt       int64             `json:"create_at"`
	StartAt        int64             `json:"start_at"`
	LastActivityAt int64             `json:"last_activity_at"`
	Status         string            `json:"status"`
	Progress       int64             `json:"progress"`
	Data           map[string]string `json:"data"`
}

type busyState struct {
	Busy      bool   `json:"busy"`
	Expires   int64  `json:"expires"`
	ExpiresTS string `json:"expires_ts"`
}

var encoding = base32.NewEncoding("ybndrfg8ejkmcpqxot1uwisza345h769").WithPadding(base32.NoPadding)

// newID is Mattermost's model.NewId: 16 random bytes in its base32 alphabet, 26 characters.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return encoding.EncodeToString(b)
}

// send writes a whole answer with its Content-Length, as stewardd does (net/http would otherwise
// switch to chunked encoding past its buffer).
func send(w http.ResponseWriter, status int, body []byte) {
	headers(w)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// encodeLine is json.Encoder's output: the value and a newline (Mattermost writes single jobs so).
func encodeLine(v any) []byte {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(v)
	return b.Bytes()
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-ID", "baselinebaselinebaseline00")
	h.Set("X-Version-ID", "0.1.0.steward.0.false")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Expires", "0")
}

const columns = "Id, Type, Priority, CreateAt, StartAt, LastActivityAt, Status, Progress, Data"

type scanner interface{ Scan(...any) error }

func scanJob(s scanner) (job, error) {
	var j job
	var data string
	if err := s.Scan(&j.ID, &j.Type, &j.Priority, &j.CreateAt, &j.StartAt, &j.LastActivityAt, &j.Status, &j.Progress, &data); err != nil {
		return j, err
	}
	j.Data = map[string]string{}
	json.Unmarshal([]byte(data), &j.Data)
	return j, nil
}

func main() {
	path := os.Args[1]
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		panic(err)
	}
	os.Chmod(path, 0600)
	mux := http.NewServeMux()

	ping := []byte(`{"ServerVersion":"0.1.0","status":"OK"}`)
	mux.HandleFunc("/api/v4/system/ping", func(w http.ResponseWriter, r *http.Request) {
		send(w, http.StatusOK, ping)
	})

	// Mattermost keeps the busy state in memory and encodes it per request.
	var busyMu sync.RWMutex
	var expires int64
	mux.HandleFunc("/api/v4/server_busy", func(w http.ResponseWriter, r *http.Request) {
		busyMu.RLock()
		e := expires
		busyMu.RUnlock()
		s := busyState{Busy: e > time.Now().Unix(), Expires: -62135596800, ExpiresTS: "Mon Jan 1 00:00:00 +0000 UTC 0001"}
		if s.Busy {
			s.Expires = e
			s.ExpiresTS = time.Unix(e, 0).UTC().Format("Mon Jan 2 15:04:05 -0700 MST 2006")
		}
		b, _ := json.Marshal(s)
		send(w, http.StatusOK, b)
	})

	if len(os.Args) > 2 {
		driver, source := "sqlite3", "file:"+os.Args[2]+"?_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL"
		mark := func(n int) string { return "?" }
		if strings.HasPrefix(os.Args[2], "postgres://") {
			driver, source = "postgres", os.Args[2]
			mark = func(n int) string { return "$" + strconv.Itoa(n) }
		}
		db, err := sql.Open(driver, source)
		if err != nil {
			panic(err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		prepare := func(q string) *sql.Stmt {
			s, err := db.Prepare(q)
			if err != nil {
				panic(err)
			}
			return s
		}
		list := prepare("SELECT " + columns + " FROM Jobs ORDER BY CreateAt DESC LIMIT " + mark(1) + " OFFSET " + mark(2))
		one := prepare("SELECT " + columns + " FROM Jobs WHERE Id = " + mark(1))
		insert := prepare("INSERT INTO Jobs (" + columns + ") VALUES (" + mark(1) + ", " + mark(2) + ", 0, " + mark(3) + ", 0, 0, 'pending', 0, " + mark(4) + ")")
		mux.HandleFunc("/api/v4/jobs", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				var body struct {
					Type string            `json:"type"`
					Data map[string]string `json:"data"`
				}
				if json.NewDecoder(r.Body).Decode(&body) != nil || body.Type == "" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				if body.Data == nil {
					body.Data = map[string]string{}
				}
				j := job{ID: newID(), Type: body.Type, CreateAt: time.Now().UnixMilli(), Status: "pending", Data: body.Data}
				data, _ := json.Marshal(j.Data)
				if _, err := insert.Exec(j.ID, j.Type, j.CreateAt, string(data)); err != nil {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				send(w, http.StatusCreated, encodeLine(j))
				return
			}
			perPage, err := strconv.Atoi(r.URL.Query().Get("per_page"))
			if err != nil || perPage < 0 {
				perPage = 60
			}
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			rows, err := list.Query(perPage, page*perPage)
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			jobs := []job{}
			for rows.Next() {
				j, err := scanJob(rows)
				if err == nil {
					jobs = append(jobs, j)
				}
			}
			rows.Close()
			b, _ := json.Marshal(jobs)
			send(w, http.StatusOK, b)
		})
		mux.HandleFunc("/api/v4/jobs/", func(w http.ResponseWriter, r *http.Request) {
			id := strings.TrimPrefix(r.URL.Path, "/api/v4/jobs/")
			j, err := scanJob(one.QueryRow(id))
			if err != nil {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			send(w, http.StatusOK, encodeLine(j))
		})
	}
	http.Serve(l, mux)
}
