package bot

import (
	"testing"
	"time"
)

// A refusal read from a JSON answer is classified as the client library's
// error for it would be: what to retry, after how long, and what not.
func TestAnswerErrorClassified(t *testing.T) {
	tests := []struct {
		name   string
		answer apiAnswer
		kind   failure
		after  time.Duration
		moved  int64
	}{
		{"429", apiAnswer{ErrorCode: 429, Description: "Too Many Requests: retry after 7", Parameters: answerParams{RetryAfter: 7}}, retryAfter, 7 * time.Second, 0},
		{"403", apiAnswer{ErrorCode: 403, Description: "Forbidden: bot was blocked by the user"}, chatGone, 0, 0},
		{"400", apiAnswer{ErrorCode: 400, Description: "Bad Request: message is not modified"}, permanent, 0, 0},
		{"400 migrated", apiAnswer{ErrorCode: 400, Description: "Bad Request: group chat was upgraded", Parameters: answerParams{MigrateToChatID: -100123}}, permanent, 0, -100123},
		{"404", apiAnswer{ErrorCode: 404, Description: "Not Found"}, permanent, 0, 0},
		{"409", apiAnswer{ErrorCode: 409, Description: "Conflict"}, permanent, 0, 0},
		{"401", apiAnswer{ErrorCode: 401, Description: "Unauthorized"}, retryBackoff, 0, 0},
		{"502", apiAnswer{ErrorCode: 502, Description: "Bad Gateway"}, retryBackoff, 0, 0},
	}
	for _, tt := range tests {
		e := classify("sendMessage", answerError("sendMessage", tt.answer))
		if e.kind != tt.kind || e.after != tt.after || e.migrateTo != tt.moved {
			t.Errorf("%s: classify(answerError) = kind %v, after %v, moved %d; want %v, %v, %d",
				tt.name, e.kind, e.after, e.migrateTo, tt.kind, tt.after, tt.moved)
		}
	}
}
