package bot

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aimabot/aimabot/flows"
)

// deskCollector reports the support team's figures (flows.Periods) when
// scraped, from the cases' facts in the store: the same numbers as /stats,
// with no personal data. It reads the store at most every 30 seconds.
type deskCollector struct {
	desk *desk

	mu      sync.Mutex
	at      time.Time
	figures []flows.Figures
}

var (
	descDeskOpened = prometheus.NewDesc("aimabot_desk_cases_opened", "Support cases opened in the period.", []string{"period"}, nil)
	descDeskClosed = prometheus.NewDesc("aimabot_desk_cases_closed", "Of the support cases opened in the period, those closed.", []string{"period"}, nil)
	descDeskFirst  = prometheus.NewDesc("aimabot_desk_first_reply_seconds", "Office time from a case's opening to the team's first reply, by percentile.", []string{"period", "quantile"}, nil)
	descDeskSolved = prometheus.NewDesc("aimabot_desk_resolution_seconds", "Office time from a case's opening to its closing, by percentile.", []string{"period", "quantile"}, nil)
	descDeskMet    = prometheus.NewDesc("aimabot_desk_first_reply_target_met_ratio", "Of the cases answered, the share answered within the first-response target.", []string{"period"}, nil)
	descDeskRated  = prometheus.NewDesc("aimabot_desk_ratings", "Applicants' ratings of the help, by answer.", []string{"period", "rating"}, nil)
)

func (c *deskCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDeskOpened, descDeskClosed, descDeskFirst, descDeskSolved, descDeskMet, descDeskRated} {
		ch <- d
	}
}

func (c *deskCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > 30*time.Second {
		if f, ok := c.read(); ok {
			c.figures, c.at = f, time.Now()
		}
	}
	figures := c.figures
	c.mu.Unlock()
	for _, f := range figures {
		p := strconv.Itoa(f.Days) + "d"
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{p}, labels...)...)
		}
		gauge(descDeskOpened, float64(f.Opened))
		gauge(descDeskClosed, float64(f.Closed))
		gauge(descDeskFirst, f.FirstP50.Seconds(), "0.5")
		gauge(descDeskFirst, f.FirstP90.Seconds(), "0.9")
		gauge(descDeskSolved, f.ResolvedP50.Seconds(), "0.5")
		gauge(descDeskSolved, f.ResolvedP90.Seconds(), "0.9")
		if f.Answered > 0 {
			gauge(descDeskMet, float64(f.Met)/float64(f.Answered))
		}
		for r, n := range f.Ratings {
			gauge(descDeskRated, float64(n), r)
		}
	}
}

func (c *deskCollector) read() ([]flows.Figures, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	facts, err := c.desk.caseFacts(ctx)
	if err != nil {
		return nil, false
	}
	return flows.Periods(facts, c.desk.now()), true
}
