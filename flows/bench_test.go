package flows

import (
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// BenchmarkLostCardJourney runs the load tool's lost-card conversation
// through Flow.Step, the conversation alone (no store, no Telegram): one
// op is the whole journey, 10 inputs; allocs/op divided by 10 is the
// conversation's share of an update's allocations.
//
//	go test ./flows -run '^$' -bench LostCardJourney -benchmem
func BenchmarkLostCardJourney(b *testing.B) {
	f, err := New()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	photo := func(ref string) Input {
		return Input{Kind: Files, Files: []File{{Ref: ref, Type: rules.JPEG, Size: 150_000, Photo: true}}}
	}
	journey := func() {
		var s Session
		var out []Reply
		step := func(in Input) {
			var err error
			if s, out, err = f.Step(s, in, now); err != nil {
				b.Fatal(err)
			}
		}
		press := func(label string) {
			for _, r := range out {
				for _, row := range r.Buttons {
					for _, bt := range row {
						if bt.Label == label {
							step(Input{Kind: Button, Data: bt.Data, Label: label})
							return
						}
					}
				}
			}
			b.Fatalf("no button %q", label)
		}
		step(ParseText("/start", "en"))
		press("My card was lost, stolen or damaged")
		press("I lost it")
		step(ParseText("26/07/2030", "en"))
		press("Continue")
		step(photo("p1"))
		press("Skip (I don't have it)")
		step(photo("p2"))
		press("Everything is correct")
		step(ParseText("/status", "en"))
	}
	journey()
	b.ReportAllocs()
	for b.Loop() {
		journey()
	}
}
