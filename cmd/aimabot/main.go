// Command aimabot runs the AIMA residence-card assistant: the Telegram bot,
// a terminal console over the same conversation, and rule tools for staff
// and scripts.
//
//	aimabot serve
//	aimabot console [--lang en|pt|fr] [--today YYYY-MM-DD] [--data DIR]
//	aimabot eligibility --expiry DATE [--today DATE] [--json]
//	aimabot documents --kind data_change|duplicate --reason REASON [--lang en|pt|fr] [--json]
//	aimabot ask [--json] [--lang en|pt|fr] ["question" | < questions]
//	aimabot diagram [case]
//	aimabot version | --version
//	aimabot healthcheck [--listen ADDR]
//
// Every command's --help lists its flags.
//
// The load test is a command of its own, cmd/aimabot-load.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line or configuration: exit 2 with
// one line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "aimabot:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const usage = `usage:
  aimabot serve [--token T] [--api-url URL] [--redis-url URL] [--data DIR] [--webhook-url URL --webhook-secret S] [--listen ADDR] [--delete-webhook]
  aimabot console [--lang en|pt|fr] [--today YYYY-MM-DD] [--data DIR]
  aimabot eligibility --expiry DATE [--today DATE] [--json]
  aimabot documents --kind data_change|duplicate --reason REASON [--lang en|pt|fr] [--json]
  aimabot ask [--json] [--lang en|pt|fr] ["question"]   (no question: one per line on standard input)
  aimabot diagram [case]
  aimabot version                                   (also --version)
  aimabot healthcheck [--listen ADDR]               (exit 0 when the running bot is ready)
Every command's --help lists its flags and their environment variables.`

// run is the whole program, with its environment passed in so tests can
// drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	var help *helpShown
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given\n%s", usage)
	}
	switch args[0] {
	case "console":
		return runConsole(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "eligibility":
		return runEligibility(args[1:], stdout)
	case "ask":
		return runAsk(args[1:], stdin, stdout)
	case "documents":
		return runDocuments(args[1:], stdout)
	case "diagram":
		return runDiagram(args[1:], stdout)
	case "version", "--version", "-version":
		return runVersion(args[1:], stdout)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], getenv)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usagef("unknown command %q\n%s", args[0], usage)
}
