package bot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

// consoleOwner holds the console's send leases.
const consoleOwner = "console"

// Console applies inputs to a stored conversation through the bot's one
// commit path, for the console (`aimabot console`), which has no Telegram:
// it takes the replies back out of the outbox at once and returns them.
type Console struct {
	commit *committer
	st     store.Outboxes
}

// NewConsole builds a console's way in to the store. token keys the chat's
// hash in logs as the bot's does ("" for the console's own key).
func NewConsole(logger *slog.Logger, st store.Store, flow *flows.Flow, token string, now func() time.Time) *Console {
	return &Console{st: st, commit: &committer{logger: logger, st: st, flow: flow, owner: consoleOwner, lease: time.Minute,
		now: now, down: newOutage(logger, now), events: func([]flows.Reply) {}, token: token}}
}

// Say commits one input to the chat and returns the replies. When the flow
// fails, the session is kept and the replies are its apology.
func (c *Console) Say(ctx context.Context, chat int64, in flows.Input) ([]flows.Reply, error) {
	res, err := c.commit.commit(ctx, chat, 0, in, nil)
	if err != nil {
		return nil, fmt.Errorf("bot: console: %w", err)
	}
	if len(res.Outbox) == 0 {
		return res.replies, nil
	}
	ids := make([]string, 0, len(res.Outbox))
	for _, m := range res.Outbox {
		ids = append(ids, m.ID)
	}
	if _, err := c.st.AckRelease(ctx, chat, ids, consoleOwner, time.Minute); err != nil {
		return res.replies, fmt.Errorf("bot: console: %w", err)
	}
	return res.replies, nil
}

// Package makes the package a console reply asked for: each document's
// files read from disk (a console file's reference is its path), one PDF
// each written to dir (made if needed), at most limit bytes each (0: the
// default); then what came of it is committed like the bot's. It returns
// the replies to that.
func (c *Console) Package(ctx context.Context, chat int64, p *flows.Package, dir string, limit int64) ([]flows.Reply, error) {
	pk := newPacker(c.commit.logger, limit)
	res := flows.PackResult{Limit: pk.limit}
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o700)
	}
	if err != nil {
		c.commit.logger.Error("console: package directory", "err", err)
		res.Failed = true
	}
	res.Dir = abs
	fetch := func(_ context.Context, f flows.File) ([]byte, error) {
		info, err := os.Stat(f.Ref)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errUnreadable, err)
		case info.Size() > rules.MaxFileBytes:
			return nil, errTooBig
		}
		data, err := os.ReadFile(f.Ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnreadable, err)
		}
		return data, nil
	}
	for _, d := range p.Docs {
		if res.Failed {
			break
		}
		pdf, ok, err := pk.build(ctx, d, fetch, &res)
		if err != nil {
			res.Failed = true
			break
		}
		if !ok {
			continue
		}
		path := filepath.Join(abs, d.Name)
		if err := os.WriteFile(path, pdf.PDF, 0o600); err != nil {
			c.commit.logger.Error("console: writing a package's PDF", "err", err)
			res.Failed = true
			break
		}
		res.Sent = append(res.Sent, flows.Packed{Doc: d.Doc, Name: d.Name, Ref: path, Size: int64(len(pdf.PDF)), Pages: pdf.Pages})
	}
	return c.Say(ctx, chat, flows.Input{Kind: flows.PackageDone, Packed: &res})
}
