package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// metrics are the operator's Prometheus series, every one prefixed aimabot_.
type metrics struct {
	reg        *prometheus.Registry
	updates    *prometheus.CounterVec // by kind and outcome
	latency    prometheus.Histogram
	apiErrors  *prometheus.CounterVec // by method and code
	waited     prometheus.Counter
	events     *prometheus.CounterVec
	delivered  prometheus.Counter
	telegramUp prometheus.Gauge
	// packages made, by result (sent, failed), and how long each took
	packages       *prometheus.CounterVec
	packageSeconds prometheus.Histogram
}

// Update outcomes.
const (
	outcomeApplied   = "applied"
	outcomeDuplicate = "duplicate"
	outcomeIgnored   = "ignored"
	outcomeFailed    = "failed"
	outcomeRefused   = "refused" // its claims do not hold (see refusal)
)

func newMetrics(st store.Store, build BuildInfo) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aimabot_updates_total",
			Help: "Telegram updates received, by kind (message, edited, button, staff, other, album_end) and outcome (applied, duplicate, ignored, failed, refused)."},
			[]string{"kind", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aimabot_update_seconds",
			Help:    "Time from an update's arrival to its effects committed (session and replies in the outbox).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5}}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aimabot_telegram_errors_total",
			Help: "Failed Bot API calls by method and code (400, 401, 403, 404, 409, 429, other: 5xx and network)."},
			[]string{"method", "code"}),
		waited: prometheus.NewCounter(prometheus.CounterOpts{Name: "aimabot_telegram_429_wait_seconds_total",
			Help: "Seconds spent waiting because 429 answers asked for it."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aimabot_events_total",
			Help: "What happened in conversations: faq_matched, faq_unmatched, faq_unsure, small_talk, rated_yes, rated_partly, rated_no, case_auto_closed, reminder, erase_notice, erased_idle, erased_case, erased_forget, package, packed, remind_on, remind_off, deadline_reminder, submitted, check_in, case_flag_near, case_flag_late (a case near, or past, its response target)."},
			[]string{"event"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "aimabot_messages_delivered_total",
			Help: "Outbox messages delivered to Telegram."}),
		telegramUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "aimabot_telegram_up",
			Help: "1 while the Bot API answers this replica's calls (even with a refusal), 0 after a network error, a 5xx or a 401."}),
		packages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aimabot_packages_total",
			Help: "Packages made (the applicant's documents as one PDF each, sent back), by result: sent, or failed (Telegram could not be reached for the files)."},
			[]string{"result"}),
		packageSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aimabot_package_seconds",
			Help:    "Time to make and send one package: fetching the files, making the PDFs, sending them.",
			Buckets: []float64{.25, .5, 1, 2, 5, 10, 20, 40, 80}}),
	}

	for _, r := range []string{"sent", "failed"} {
		m.packages.WithLabelValues(r)
	}
	trips := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aimabot_store_round_trips_total",
		Help: "Round trips to the store's server (Redis commands and pipelines sent; 0 for the embedded store)."},
		func() float64 {
			if in, ok := st.(store.Inspector); ok {
				return float64(in.RoundTrips())
			}
			return 0
		})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aimabot_build_info",
		Help: "The running build: always 1, with its version, commit and Go version as labels."},
		[]string{"version", "commit", "goversion"})
	info.WithLabelValues(build.Version, build.Commit, build.Go).Set(1)
	m.reg.MustRegister(info)
	m.reg.MustRegister(m.updates, m.latency, m.apiErrors, m.waited, m.events,
		m.delivered, m.telegramUp, m.packages, m.packageSeconds, trips)
	// The runtime's and the process's series (memory, CPU, goroutines),
	// under their standard names (go_*, process_*) for stock dashboards.
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// countEvents records the events among committed replies.
func (m *metrics) countEvents(replies []flows.Reply) {
	for _, r := range replies {
		if r.Event != "" {
			m.events.WithLabelValues(r.Event).Inc()
		}
	}
}

// stateCollector reports, when scraped, what the store holds: the outbox's
// depth and oldest message, the open cases and those waiting for a person.
// It reads the store at most every few seconds.
type stateCollector struct {
	st   store.Outboxes
	desk *desk // nil without a staff group
	now  func() time.Time

	mu sync.Mutex
	at time.Time
	v  stateValues
}

type stateValues struct {
	depth, oldest, open, waiting float64
	ok                           bool
}

var (
	descDepth   = prometheus.NewDesc("aimabot_outbox_depth", "Messages waiting in outboxes to be delivered to Telegram.", nil, nil)
	descOldest  = prometheus.NewDesc("aimabot_outbox_oldest_seconds", "Age of the oldest message waiting in an outbox (of the first 1,000 chats found with messages waiting).", nil, nil)
	descOpen    = prometheus.NewDesc("aimabot_cases_open", "Support cases not closed.", nil, nil)
	descWaiting = prometheus.NewDesc("aimabot_cases_waiting", "Support cases waiting for a person.", nil, nil)
	descStoreUp = prometheus.NewDesc("aimabot_store_up", "1 when the store answered the last check, else 0.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDepth, descOldest, descOpen, descWaiting, descStoreUp} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > 5*time.Second {
		c.v, c.at = c.read(), time.Now()
	}
	v := c.v
	c.mu.Unlock()
	up := 0.0
	if v.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, v.depth)
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, v.oldest)
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, v.open)
	ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, v.waiting)
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
}

// maxScanChats bounds the chats whose oldest message is read for the
// outbox's age per scrape.
const maxScanChats = 1000

func (c *stateCollector) read() stateValues {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var v stateValues
	now := c.now()
	var oldest time.Time
	depth, err := c.st.OutboxDepth(ctx)
	if err != nil {
		return v
	}
	v.depth = float64(depth)
	seen := 0
	err = c.st.PendingChats(ctx, func(chat int64) bool {
		msgs, err := c.st.Outbox(ctx, chat, 1)
		if err != nil {
			return false
		}
		if len(msgs) > 0 {
			var o op
			if json.Unmarshal(msgs[0].Data, &o) == nil && o.At > 0 {
				if at := time.UnixMilli(o.At); oldest.IsZero() || at.Before(oldest) {
					oldest = at
				}
			}
		}
		seen++
		return seen < maxScanChats
	})
	if err != nil {
		return v
	}
	if !oldest.IsZero() {
		v.oldest = max(now.Sub(oldest).Seconds(), 0)
	}
	if c.desk != nil {
		rec, err := c.desk.load(ctx)
		if err != nil {
			return v
		}
		for _, cs := range rec.Cases {
			if cs.Status != flows.CaseClosed {
				v.open++
			}
			if cs.Status == flows.CaseWaiting {
				v.waiting++
			}
		}
	}
	v.ok = true
	return v
}

// opsHandler serves /metrics, /healthz (the process is up) and /readyz (the
// store answers).
func (b *Bot) opsHandler(mux *http.ServeMux) {
	mux.Handle("/metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if problem := b.ready(r.Context()); problem != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(problem + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// ready checks what this replica needs to do its work: the store
// (reachable, and the embedded store's last write committed). Telegram's
// availability is not this replica's to fix, and replicas taken out of
// service for it would not bring it back: aimabot_telegram_up reports it.
func (b *Bot) ready(parent context.Context) string {
	ctx, cancel := context.WithTimeout(parent, 3*time.Second)
	defer cancel()
	start := b.cfg.Now()
	err := b.st.Ping(ctx)
	if parent.Err() == nil {
		b.down.note(start, err) // an idle bot learns of an outage here
	}
	if err != nil {
		return "store unavailable (unreachable, or its last write failed)"
	}
	return ""
}
