// Package bot connects the conversation to Telegram through go-telegram/bot:
// intake of updates, rendering of replies, the outbox and the staff group.
package bot
