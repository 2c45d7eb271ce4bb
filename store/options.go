package store

import (
	"fmt"
	"log/slog"
	"time"
)

// openOptions are the options both stores take, defaulted and checked by
// resolveOpenOptions.
type openOptions struct {
	logger    *slog.Logger
	ttl       time.Duration // the idle expiry
	forgotten time.Duration // how long an erased chat's applied ids are kept
}

// resolveOpenOptions applies the defaults common to OpenRedis and OpenBolt:
// a logger that discards, DefaultTTL and ForgottenTTL for zero durations.
// A duration below least is refused, the error naming backend ("redis",
// "bolt") and the option.
func resolveOpenOptions(backend string, logger *slog.Logger, ttl, forgotten, least time.Duration) (openOptions, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := openOptions{logger: logger}
	var err error
	if o.ttl, err = durationOption(backend, "TTL", ttl, DefaultTTL, least); err != nil {
		return openOptions{}, err
	}
	if o.forgotten, err = durationOption(backend, "ForgottenTTL", forgotten, ForgottenTTL, least); err != nil {
		return openOptions{}, err
	}
	return o, nil
}

// durationOption is v, or def when v is zero; an error when that is below
// least (0: negative; otherwise shorter than least).
func durationOption(backend, name string, v, def, least time.Duration) (time.Duration, error) {
	if v == 0 {
		v = def
	}
	if v >= least {
		return v, nil
	}
	if least <= 0 {
		return 0, fmt.Errorf("store: %s %s %v is negative", backend, name, v)
	}
	floor := least.String()
	if least == time.Millisecond {
		floor = "a millisecond"
	}
	return 0, fmt.Errorf("store: %s %s %v is shorter than %s", backend, name, v, floor)
}
