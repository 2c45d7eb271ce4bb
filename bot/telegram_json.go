package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	tg "github.com/go-telegram/bot"
)

// The calls made for every reply (sendMessage, editMessageText,
// editMessageReplyMarkup, answerCallbackQuery) go out as JSON bodies rather
// than through the client library, which builds every call as a multipart
// form streamed through a pipe and a goroutine and decodes the answer twice
// into a message nobody reads: on the load tool's journey that was the
// largest share of the bot's CPU (issue 19). The answers are read, and
// their errors made, exactly as the library makes them, so that classify
// and everything after it see the same errors.

// apiAnswer is the Bot API's answer, the result left undecoded.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  answerParams    `json:"parameters"`
}

// answerParams are a refusal's parameters.
type answerParams struct {
	RetryAfter      int `json:"retry_after"`
	MigrateToChatID int `json:"migrate_to_chat_id"`
}

// callJSON makes one Bot API call with params as a JSON body, under the
// call timeout, and decodes the result into dest when dest is not nil.
func (t *telegram) callJSON(ctx context.Context, method string, params, dest any) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return t.failed(method, t.postJSON(ctx, method, params, dest))
}

func (t *telegram) postJSON(ctx context.Context, method string, params, dest any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.apiURL+"/bot"+t.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request for method %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.http.Do(req)
	if err != nil {
		return fmt.Errorf("error do request for method %s, %w", method, stripURL(err))
	}
	defer resp.Body.Close()
	var r apiAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&r); err != nil {
		return fmt.Errorf("error decode response body for method %s, %w", method, err)
	}
	if !r.OK {
		return answerError(method, r)
	}
	if dest != nil {
		if err := json.Unmarshal(r.Result, dest); err != nil {
			return fmt.Errorf("error decode result for method %s, %w", method, err)
		}
	}
	return nil
}

// answerError is the error go-telegram/bot makes of a refusal, so that the
// rest of the bot (classify) reads both paths' errors alike.
func answerError(method string, r apiAnswer) error {
	switch r.ErrorCode {
	case http.StatusForbidden:
		return fmt.Errorf("%w, %s", tg.ErrorForbidden, r.Description)
	case http.StatusBadRequest:
		if r.Parameters.MigrateToChatID != 0 {
			return &tg.MigrateError{Message: fmt.Sprintf("%s: %s", tg.ErrorBadRequest, r.Description),
				MigrateToChatID: r.Parameters.MigrateToChatID}
		}
		return fmt.Errorf("%w, %s", tg.ErrorBadRequest, r.Description)
	case http.StatusUnauthorized:
		return fmt.Errorf("%w, %s", tg.ErrorUnauthorized, r.Description)
	case http.StatusNotFound:
		return fmt.Errorf("%w, %s", tg.ErrorNotFound, r.Description)
	case http.StatusConflict:
		return fmt.Errorf("%w, %s", tg.ErrorConflict, r.Description)
	case http.StatusTooManyRequests:
		return &tg.TooManyRequestsError{Message: fmt.Sprintf("%s, %s", tg.ErrorTooManyRequests, r.Description),
			RetryAfter: r.Parameters.RetryAfter}
	}
	return fmt.Errorf("error response from telegram for method %s, %d %s", method, r.ErrorCode, r.Description)
}
