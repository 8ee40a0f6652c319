package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llmos/llmos/engine"
)

// metrics holds the counters /metrics exposes in Prometheus's text format.
type metrics struct {
	mu         sync.Mutex
	requests   map[requestKey]uint64
	latency    map[string]*histogram // by endpoint
	prompt     map[string]uint64     // prompt tokens by model
	completion map[string]uint64     // generated tokens by model
}

type requestKey struct {
	endpoint string
	code     int
}

// latencyBuckets are the upper bounds, in seconds, of the latency histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[requestKey]uint64{}, latency: map[string]*histogram{}, prompt: map[string]uint64{}, completion: map[string]uint64{}}
}

func (m *metrics) tokens(model string, prompt, completion int) {
	m.mu.Lock()
	m.prompt[model] += uint64(prompt)
	m.completion[model] += uint64(completion)
	m.mu.Unlock()
}

// instrument counts every request by endpoint and status and times it.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		endpoint := r.Pattern
		if endpoint == "" {
			endpoint = "unmatched"
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		secs := time.Since(began).Seconds()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.requests[requestKey{endpoint, status}]++
		h := m.latency[endpoint]
		if h == nil {
			h = &histogram{counts: make([]uint64, len(latencyBuckets))}
			m.latency[endpoint] = h
		}
		if i, _ := slices.BinarySearch(latencyBuckets, secs); i < len(latencyBuckets) {
			h.counts[i]++
		}
		h.sum += secs
		h.n++
	})
}

// serve writes the exposition: request counts and latencies, token
// counts, and each model's queue and slots as they are now.
func (m *metrics) serve(s *Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		m.mu.Lock()
		b.WriteString("# HELP llmos_requests_total HTTP requests by endpoint and status code.\n# TYPE llmos_requests_total counter\n")
		keys := make([]requestKey, 0, len(m.requests))
		for k := range m.requests {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b requestKey) int {
			return strings.Compare(fmt.Sprint(a.endpoint, a.code), fmt.Sprint(b.endpoint, b.code))
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "llmos_requests_total{endpoint=%q,code=\"%d\"} %d\n", k.endpoint, k.code, m.requests[k])
		}
		b.WriteString("# HELP llmos_request_duration_seconds Time to answer a request, streams included.\n# TYPE llmos_request_duration_seconds histogram\n")
		for _, ep := range sortedKeys(m.latency) {
			h := m.latency[ep]
			cum := uint64(0)
			for i, le := range latencyBuckets {
				cum += h.counts[i]
				fmt.Fprintf(&b, "llmos_request_duration_seconds_bucket{endpoint=%q,le=\"%g\"} %d\n", ep, le, cum)
			}
			fmt.Fprintf(&b, "llmos_request_duration_seconds_bucket{endpoint=%q,le=\"+Inf\"} %d\n", ep, h.n)
			fmt.Fprintf(&b, "llmos_request_duration_seconds_sum{endpoint=%q} %g\n", ep, h.sum)
			fmt.Fprintf(&b, "llmos_request_duration_seconds_count{endpoint=%q} %d\n", ep, h.n)
		}
		tokenFamily(&b, "llmos_prompt_tokens_total", "Prompt tokens read, by model.", m.prompt)
		tokenFamily(&b, "llmos_completion_tokens_total", "Tokens generated, by model.", m.completion)
		m.mu.Unlock()
		gauges := []struct {
			name, help string
			value      func(st engine.SchedulerStats) int
		}{
			{"llmos_queue_depth", "Requests waiting for a free slot.", func(st engine.SchedulerStats) int { return st.Queued }},
			{"llmos_active_sequences", "Sequences being generated.", func(st engine.SchedulerStats) int { return st.Active }},
			{"llmos_slots", "Sequences that can be generated at once.", func(st engine.SchedulerStats) int { return st.Slots }},
		}
		stats := map[string]engine.SchedulerStats{}
		for _, name := range s.order {
			stats[name] = s.models[name].sched.Stats()
		}
		for _, g := range gauges {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
			for _, name := range s.order {
				fmt.Fprintf(&b, "%s{model=%q} %d\n", g.name, name, g.value(stats[name]))
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(b.String()))
	}
}

func tokenFamily(b *strings.Builder, name, help string, values map[string]uint64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	for _, model := range sortedKeys(values) {
		fmt.Fprintf(b, "%s{model=%q} %d\n", name, model, values[model])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
