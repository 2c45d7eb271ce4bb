package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/pack"
)

// DefaultPackageMaxBytes is the largest PDF a package holds unless
// configured: AIMA publishes no limit, and 5 MB passes common upload forms.
const DefaultPackageMaxBytes = pack.DefaultMaxBytes

// A package (flows.Package, an outbox operation like any reply) is made
// under the chat's send lease, in the chat's order: each document's files
// are fetched into memory, made into one PDF (package pack) and sent back
// as a document, one document at a time, and what came of it is committed
// as the conversation's PackageDone input. Nothing is written to disk and
// no PDF is kept. One package at a time is made per replica (packer.slot),
// so that a burst of requests cannot take more memory than one package
// needs. A crash after some PDFs were sent, before the operation is
// acknowledged, sends them again: the applicant may get a file twice, never
// none.

// packer makes packages: the part of the work that does not depend on
// where the files come from or go to, shared by Telegram and the console.
type packer struct {
	logger *slog.Logger
	limit  int64
	slot   chan struct{} // one package at a time on this replica
}

func newPacker(logger *slog.Logger, limit int64) *packer {
	if limit <= 0 {
		limit = DefaultPackageMaxBytes
	}
	return &packer{logger: logger, limit: limit, slot: make(chan struct{}, 1)}
}

// take waits for this replica's package slot; release gives it back.
func (p *packer) take(ctx context.Context) (release func(), err error) {
	select {
	case p.slot <- struct{}{}:
		return func() { <-p.slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errFetch is a file that could not be fetched now but may be later.
var errFetch = errors.New("bot: fetching a file failed")

// build fetches a document's files and makes its PDF. A file that can no
// longer be had, one that is not readable, or a document that cannot fit
// the limit is noted in res and gives no PDF (ok false, err nil); err is a
// failure that may pass (a network error).
func (p *packer) build(ctx context.Context, d flows.PackDoc, fetch func(context.Context, flows.File) ([]byte, error),
	res *flows.PackResult) (pdf pack.Result, ok bool, err error) {
	parts := make([]pack.Part, 0, len(d.Files))
	lost := false
	for _, f := range d.Files {
		data, err := fetch(ctx, f)
		switch {
		case errors.Is(err, errUnreadable) || errors.Is(err, errTooBig):
			res.Unreadable = append(res.Unreadable, f.Ref)
			lost = true
			continue
		case err != nil:
			return pack.Result{}, false, fmt.Errorf("%w: %w", errFetch, err)
		}
		parts = append(parts, pack.Part{Type: f.Type, Data: data})
	}
	if lost {
		return pack.Result{}, false, nil
	}
	out, err := pack.Build(parts, pack.Options{MaxBytes: p.limit})
	var bad *pack.PartError
	switch {
	case errors.As(err, &bad) && bad.Index >= 0 && bad.Index < len(d.Files):
		// Not the error's text: pdfcpu's may quote the document's content.
		p.logger.Info("bot: a file of a package is unreadable", "doc", d.Doc, "part", bad.Index)
		res.Broken = append(res.Broken, d.Files[bad.Index].Ref)
		return pack.Result{}, false, nil
	case errors.Is(err, pack.ErrTooBig):
		res.TooBig = append(res.TooBig, d.Doc)
		return pack.Result{}, false, nil
	case err != nil:
		p.logger.Warn("bot: making a package's PDF failed", "doc", d.Doc, "error_type", fmt.Sprintf("%T", err))
		res.TooBig = append(res.TooBig, d.Doc)
		return pack.Result{}, false, nil
	}
	return out, true, nil
}

// deliverPackage makes a chat's package and sends it, then commits what
// came of it. It holds the chat's send lease throughout (renewing it
// between calls) and this replica's package slot.
func (s *sender) deliverPackage(chat int64, o op, held time.Time) result {
	if o.Pack == nil || s.pack == nil {
		return performed
	}
	release, err := s.pack.take(s.ctx)
	if err != nil {
		return stopped
	}
	defer release()
	// keep renews the lease when it is no longer sure; false: it was lost.
	keep := func() bool {
		if s.sure(held) {
			return true
		}
		held = s.acquire(chat)
		return !held.IsZero()
	}
	start := s.now()
	res := flows.PackResult{Limit: s.pack.limit}
	fetch := func(ctx context.Context, f flows.File) ([]byte, error) {
		var data []byte
		err := s.patiently(chat, func(ctx context.Context) error {
			var err error
			data, err = s.tg.fetch(ctx, f.Ref)
			if errors.Is(err, errUnreadable) || errors.Is(err, errTooBig) {
				return errors.Join(errGiveUp, err)
			}
			return err
		})
		return data, err
	}
	for _, d := range o.Pack.Docs {
		if s.ctx.Err() != nil {
			return stopped // the package stays in the outbox, made again after the restart
		}
		if !keep() {
			return stale
		}
		pdf, ok, err := s.pack.build(s.procCtx, d, fetch, &res)
		if errors.Is(err, errStopped) {
			return stopped
		}
		if err != nil {
			s.logger.Warn("bot: a package could not be made", "err", err)
			res.Failed = true
			break
		}
		if !ok {
			continue
		}
		if !keep() {
			return stale
		}
		sent, r := s.sendPDF(chat, d, pdf)
		switch r {
		case stopped:
			return stopped
		case stale:
			return stale
		}
		if sent == nil {
			if s.isGone(chat, o) {
				return performed // blocked: recorded by sendPDF, nothing to tell
			}
			res.Failed = true
			break
		}
		res.Sent = append(res.Sent, *sent)
	}
	outcome := "sent"
	if res.Failed {
		outcome = "failed"
	}
	s.metrics.packages.WithLabelValues(outcome).Inc()
	s.metrics.packageSeconds.Observe(s.now().Sub(start).Seconds())
	if !s.retry(func(ctx context.Context) error {
		_, err := s.commit.commit(ctx, chat, 0, flows.Input{Kind: flows.PackageDone, Packed: &res}, nil)
		return err
	}) {
		return stopped
	}
	return performed
}

var (
	// errGiveUp, joined to an error, ends patiently at once.
	errGiveUp = errors.New("bot: no point retrying")
	// errStopped is patiently's answer when the replica stops.
	errStopped = errors.New("bot: stopping")
)

// patiently makes a Bot API call for a package: Telegram's pauses are
// waited, transient failures retried a few times with backoff; a refusal
// for good (or errGiveUp) ends it.
func (s *sender) patiently(chat int64, call func(ctx context.Context) error) error {
	var backoff time.Duration
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(s.procCtx, fetchTimeout)
		err := call(ctx)
		cancel()
		var e *apiError
		errors.As(err, &e)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errGiveUp):
			return err
		case e != nil && e.kind == retryAfter:
			backoff = e.after
			s.metrics.waited.Add(backoff.Seconds())
		case refusesForGood(err):
			return err
		case attempt >= 4:
			return err
		default:
			backoff = nextBackoff(backoff)
		}
		if !sleep(s.ctx, jittered(backoff)) {
			return errStopped
		}
	}
}

// sendPDF sends one document's PDF to the chat; nil when Telegram refused
// it (a block is recorded as such).
func (s *sender) sendPDF(chat int64, d flows.PackDoc, pdf pack.Result) (*flows.Packed, result) {
	if err := s.pace.chat(chat); err != nil || s.ctx.Err() != nil {
		return nil, stopped
	}
	var msg *models.Message
	err := s.patiently(chat, func(ctx context.Context) error {
		var err error
		msg, err = do(ctx, s.tg, "sendDocument", s.tg.api.SendDocument, &tg.SendDocumentParams{ChatID: chat,
			Document: &models.InputFileUpload{Filename: d.Name, Data: bytes.NewReader(pdf.PDF)}, Caption: d.Caption})
		return err
	})
	switch {
	case errors.Is(err, errStopped):
		return nil, stopped
	case failureOf(err) == chatGone && err != nil:
		s.mu.Lock()
		s.gone[chat] = true
		s.mu.Unlock()
		s.blocked(chat)
		return nil, performed
	case err != nil:
		s.logger.Warn("bot: sending a package's PDF failed", "err", err)
		return nil, performed
	}
	s.metrics.delivered.Inc()
	p := &flows.Packed{Doc: d.Doc, Name: d.Name, Size: int64(len(pdf.PDF)), Pages: pdf.Pages}
	if msg != nil {
		p.Msg = msg.ID
		if msg.Document != nil {
			p.Ref = msg.Document.FileID
		}
	}
	return p, performed
}
