// Package flows is the conversation: what the assistant asks, how it reads
// the answers, and what it says, with no I/O.
//
// A tour:
//
//   - conversation.go holds the whole flow in one file: the states, the
//     looplab/fsm events between them (the README's diagram is generated from
//     them), each state's question and buttons, and each answer's validator.
//     Commands such as /back and /status are handled there too, before the
//     state's own handler.
//   - [Flow.Step] is the only entry point: (session, input, now) ->
//     (session', replies). It builds a fresh state machine from the stored
//     state for every input, never reads the clock, and never changes its
//     argument, so a transport can retry it freely.
//   - session.go is the stored [Session] (small versioned JSON; document
//     contents are never in it) and the transport-neutral [Input] and [Reply].
//   - messages.go and locales/*.toml: every user-facing text, in English,
//     Portuguese and French, through go-i18n (plural rules included).
//   - testdata/transcripts: golden conversations, replayed by the tests.
//
// Buttons carry the step they were shown at ("<step>:<action>[:<arg>]", at
// most 64 bytes), so a button pressed after the conversation moved on is
// recognised as out of date. Typing a button's label works like pressing it.
package flows
