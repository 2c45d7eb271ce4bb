// Command aimabot-load is the load test: simulated applicants talk, through
// a fake Bot API server (bot/fakeapi), to `aimabot serve` replicas it runs
// as child processes, and it reports throughput, latency and costs. It is
// a tool for developers, kept out of the aimabot binary.
//
//	aimabot-load [--bin PATH] [--users N] [--duration D] [--json] [--replicas N] [--redis-url URL] [--data DIR] [--stored N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line: exit 2 with one line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "aimabot-load:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run is the whole program, with its environment passed in so tests can
// drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runLoadtest(ctx, args, getenv, stdout, stderr)
}

// newFlags makes a flag set that reports errors as usage errors, not on
// stderr.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// findServer is the aimabot binary the replicas run: bin when given, else
// the aimabot next to this executable, else the one on PATH.
func findServer(bin string) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", usagef("--bin: %v", err)
		}
		return bin, nil
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), "aimabot")
		if st, err := os.Stat(next); err == nil && !st.IsDir() {
			return next, nil
		}
	}
	p, err := exec.LookPath("aimabot")
	if err != nil {
		return "", usagef("no aimabot binary next to aimabot-load or on PATH: build one (go build ./cmd/aimabot) or pass --bin")
	}
	return p, nil
}
