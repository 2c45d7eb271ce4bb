package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aimabot/aimabot/flows"
)

// Converse applies one input to a chat's stored session in one atomic update
// and returns the replies. When the flow fails, nothing is stored and the
// flow's apology is returned with the error, so the applicant still hears
// back and the session is as it was.
func Converse(ctx context.Context, st Store, flow *flows.Flow, chat int64, in flows.Input, now time.Time) ([]flows.Reply, error) {
	var replies []flows.Reply
	err := st.Update(ctx, chat, func(cur []byte) ([]byte, error) {
		s, err := flows.Unmarshal(cur)
		if err != nil {
			replies = flow.Apology(s)
			return nil, err
		}
		next, out, err := flow.Step(s, in, now)
		replies = out
		if err != nil {
			return nil, err
		}
		return next.Marshal()
	})
	if err != nil {
		return replies, fmt.Errorf("store: converse: %w", err)
	}
	return replies, nil
}
