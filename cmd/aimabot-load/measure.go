package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// finishedChat is one conversation an applicant went through.
type finishedChat struct {
	chat   int64
	script int
	out    outcome
}

// loadRun is what the applicants of one measurement share.
type loadRun struct {
	mu        sync.Mutex
	finished  []finishedChat
	latencies []time.Duration
	updates   atomic.Int64
	failed    atomic.Int64
	started   atomic.Int64
}

// costs are the replicas' and Redis's counters at one moment.
type costs struct {
	cpu   time.Duration
	trips float64
	cmds  int64
}

// measure drives cfg.users applicants for cfg.duration and reads the
// figures off the replicas and Redis.
func measure(ctx context.Context, w *world, cfg loadConfig, reps []*replica, refs []reference,
	progress func(string, bool)) (*loadReport, error) {
	run := &loadRun{}
	before, err := readCosts(ctx, cfg, reps)
	if err != nil {
		return nil, err
	}

	begin := time.Now()
	stopProgress := run.showProgress(cfg, reps, begin, progress)
	run.drive(ctx, w, cfg, refs, begin.Add(cfg.duration))
	elapsed := time.Since(begin)
	stopProgress()

	after, err := readCosts(ctx, cfg, reps)
	if err != nil {
		return nil, err
	}
	rss, anon := peakMemory(reps)

	// Late repeats show once every outbox is empty.
	dctx, cancel := context.WithTimeout(ctx, cfg.stepTimeout)
	derr := drained(dctx, reps)
	cancel()
	if derr != nil {
		return nil, fmt.Errorf("loadtest: %w", derr)
	}
	rep := &loadReport{Replicas: cfg.replicas, Users: cfg.users, Seconds: elapsed.Seconds(),
		Conversations: len(run.finished), PeakRSSMB: float64(rss) / 1e6, PeakAnonMB: float64(anon) / 1e6}
	firstErr := tally(rep, w, cfg, refs, run.finished)
	rep.setRates(elapsed, before, after)
	slices.Sort(run.latencies)
	rep.P50ms, rep.P95ms, rep.P99ms = quantileMs(run.latencies, 0.50), quantileMs(run.latencies, 0.95), quantileMs(run.latencies, 0.99)
	progress(fmt.Sprintf("loadtest: done: %d conversations, %d updates in %.1f s", rep.Conversations, rep.Updates, rep.Seconds), true)
	if bad := rep.Errors + rep.Lost + rep.Duplicated; bad > 0 {
		return rep, fmt.Errorf("loadtest: %d errors, %d lost, %d duplicated; first: %v\nlast replica's log:\n%s",
			rep.Errors, rep.Lost, rep.Duplicated, firstErr, lastLogLines(reps[len(reps)-1].log(), 10))
	}
	return rep, nil
}

// readCosts reads the replicas' CPU time and Redis round trips, and the
// commands Redis has run when there is one.
func readCosts(ctx context.Context, cfg loadConfig, reps []*replica) (costs, error) {
	var c costs
	c.cpu, c.trips = replicaFigures(reps)
	if cfg.redisURL != "" {
		n, err := redisCommands(ctx, cfg.redisURL)
		if err != nil {
			return costs{}, fmt.Errorf("loadtest: %w", err)
		}
		c.cmds = n
	}
	return c, nil
}

// showProgress reports the run once a second, from begin, until the
// function it returns is called (which waits for the last report).
func (run *loadRun) showProgress(cfg loadConfig, reps []*replica, begin time.Time, progress func(string, bool)) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := int64(0), begin
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				for _, r := range reps {
					r.figures() // samples the anonymous memory
				}
				n := run.updates.Load()
				progress(fmt.Sprintf("loadtest: %3.0fs/%.0fs  %d users  %d conversations  %d updates  %.0f/s  %d failed",
					now.Sub(begin).Seconds(), cfg.duration.Seconds(), cfg.users, run.started.Load(), n,
					float64(n-last)/now.Sub(lastAt).Seconds(), run.failed.Load()), false)
				last, lastAt = n, now
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// drive runs cfg.users applicants, each starting one conversation after
// another until deadline, and waits for them all.
func (run *loadRun) drive(ctx context.Context, w *world, cfg loadConfig, refs []reference, deadline time.Time) {
	var wg sync.WaitGroup
	for range cfg.users {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := run.started.Add(1) - 1
				chat := loadChat0 + n
				i := int(n % int64(len(cfg.scripts)))
				out := w.converse(ctx, chat, cfg.scripts[i], refs[i], cfg.stepTimeout)
				run.updates.Add(int64(out.updates))
				if out.err != nil {
					run.failed.Add(1)
				}
				run.mu.Lock()
				run.finished = append(run.finished, finishedChat{chat, i, out})
				run.latencies = append(run.latencies, out.latencies...)
				run.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// peakMemory is the most RSS and anonymous memory any replica had.
func peakMemory(reps []*replica) (rss, anon int64) {
	for _, r := range reps {
		_, m, a := r.figures()
		rss, anon = max(rss, m), max(anon, a)
	}
	return rss, anon
}

// tally counts the finished conversations into rep: their updates, errors,
// lost and duplicated messages, and transcripts that differ from the run
// without load. It returns the first of those failures, described.
func tally(rep *loadReport, w *world, cfg loadConfig, refs []reference, finished []finishedChat) error {
	var firstErr error
	for _, d := range finished {
		rep.Updates += d.out.updates
		switch {
		case errors.Is(d.out.err, errLost):
			rep.Lost++
		case d.out.err != nil:
			rep.Errors++
		default:
			if err := rep.judge(w, cfg, refs, d); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if d.out.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("chat %d: %w; the applicant saw:\n%s\nwithout load:\n%s", d.chat, d.out.err,
				strings.Join(w.transcript(d.chat), "\n"), strings.Join(refs[d.script].transcript, "\n"))
		}
	}
	return firstErr
}

// judge compares a conversation that ended without error with the run
// without load, counts what it finds into rep and describes it.
func (rep *loadReport) judge(w *world, cfg loadConfig, refs []reference, d finishedChat) error {
	switch kind, dups := verdict(w.transcript(d.chat), refs[d.script].transcript); kind {
	case "duplicated":
		rep.Duplicated += dups
		return fmt.Errorf("chat %d (%s) has %d message(s) repeated back to back:\n%s", d.chat,
			cfg.scripts[d.script].name, dups, strings.Join(w.transcript(d.chat), "\n"))
	case "mismatch":
		rep.Errors++
		return fmt.Errorf("chat %d (%s) differs from the run without load:\n%s\nwant:\n%s", d.chat,
			cfg.scripts[d.script].name, strings.Join(w.transcript(d.chat), "\n"), strings.Join(refs[d.script].transcript, "\n"))
	}
	return nil
}

// setRates divides the run's costs, from before to after, by its updates.
func (rep *loadReport) setRates(elapsed time.Duration, before, after costs) {
	if rep.Updates == 0 {
		return
	}
	u := float64(rep.Updates)
	rep.UpdatesPerSec = u / elapsed.Seconds()
	rep.CPUMicrosPerUpdate = float64((after.cpu - before.cpu).Microseconds()) / u
	rep.RedisRoundTripsPerUpdate = (after.trips - before.trips) / u
	rep.RedisCommandsPerUpdate = float64(after.cmds-before.cmds) / u
}

func replicaFigures(reps []*replica) (cpu time.Duration, trips float64) {
	for _, r := range reps {
		c, _, _ := r.figures()
		cpu += c
		trips += r.roundTrips()
	}
	return cpu, trips
}

// quantileMs is the q-quantile of sorted durations, in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return float64(sorted[i].Microseconds()) / 1000
}
