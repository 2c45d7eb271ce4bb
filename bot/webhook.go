package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// maxWebhookBody bounds an update's size; Telegram's are far smaller.
const maxWebhookBody = 1 << 20

// webhook answers Telegram's webhook calls: 401 for a wrong secret, 200
// only after the update is committed, 500 when it could not be, so that
// Telegram delivers it again.
func (it *intake) webhook() http.Handler {
	secret := []byte(it.cfg.WebhookSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if subtle.ConstantTimeCompare(got, secret) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.ContentLength > maxWebhookBody {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		u := &models.Update{}
		if err := json.Unmarshal(body, u); err != nil {
			// Not an update this client can read: nothing to retry.
			it.logger.Warn("bot: unreadable webhook update dropped", "err", err)
			w.WriteHeader(http.StatusOK)
			return
		}
		// The update is finished even if Telegram hangs up meanwhile.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), webhookCommit)
		defer cancel()
		if err := it.handle(ctx, u); err != nil {
			it.logFailed(u, err, "bot: webhook update not applied; Telegram will deliver it again")
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// serveWebhook registers the webhook and serves it until ctx ends, then
// waits for the requests in flight.
func (b *Bot) serveWebhook(ctx context.Context) error {
	u, err := url.Parse(b.cfg.WebhookURL)
	if err != nil {
		return fmt.Errorf("bot: WEBHOOK_URL: %w", err)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	b.opsHandler(mux)
	switch path {
	case "/metrics", "/healthz", "/readyz":
		return fmt.Errorf("bot: WEBHOOK_URL's path %s is taken by the operator's endpoints: choose another", path)
	}
	mux.Handle(path, b.WebhookHandler())
	ln, err := b.listen()
	if err != nil {
		return fmt.Errorf("bot: listen on %s: %w", b.cfg.ListenAddr, err)
	}
	b.listener.Store(ln)
	srv := b.httpServer(mux)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	_, err = do(ctx, b.tg, "setWebhook", b.tg.api.SetWebhook, &tg.SetWebhookParams{URL: b.cfg.WebhookURL,
		SecretToken: b.cfg.WebhookSecret, AllowedUpdates: allowedUpdates, MaxConnections: 40})
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("bot: %w", err)
	}
	b.logger.Info("bot: webhook mode", "listen", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("bot: webhook server: %w", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Connections opened but never used count as busy for a while.
		// Closing them is safe: a handler still running finishes its
		// commit, and Telegram, cut off before the 200, delivers that
		// update again, to be recognised and skipped.
		b.logger.Warn("bot: webhook connections still open at shutdown; closing them", "err", err)
		_ = srv.Close()
	}
	return nil
}
