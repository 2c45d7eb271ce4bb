// Package flows is the conversation: what the assistant asks, how it reads
// the answers, and what it says, with no I/O.
//
// Entry points, the functions other packages call:
//
//   - [New] (with [WithStaff], [WithRetention]) builds the [Flow].
//   - [Flow.Step] runs one input: (session, input, now) -> (session',
//     replies). An input is a person's (text, a command, a button, files)
//     or the transport's: [AlbumEnd], [WakeUp] (what is due happens, see
//     [Flow.Wake]) and [BotBlocked] (see [Flow.Blocked]). It builds a fresh state machine from the stored state for
//     every input, never reads the clock, and never changes its argument, so
//     a transport can retry it freely. [Flow.Prompt] asks the current step's
//     question again; [Flow.Apology] is the reply when something fails on the
//     assistant's side.
//   - [Flow.Due] and [Flow.Wake]: when the assistant next wakes by itself
//     (reminders, notices, erasures), and what it does then.
//   - The support team's side: [Flow.Card], [Flow.Queue], and [Flow.Toast]
//     for the notice on a pressed button. The flow knows the case, not where
//     the transport shows it: [Reply.Card] asks for the case to be shown as
//     it is now, [Reply.DropCase] for it to be removed; [Legacy] is only
//     what older versions kept in the session for the transport.
//   - [Unmarshal] and [Session.Marshal] store sessions; [ParseText] turns
//     typed text into an [Input]; [Diagram] and [CaseDiagram] draw the
//     machines; [LoadCatalog] and [Languages] give the texts.
//
// A tour of the files:
//
//   - conversation.go: the conversation's states, the looplab/fsm events
//     between them (the README's diagram is generated from them), the button
//     actions, and which handler each state gives its input to.
//   - flow.go: [Flow], its options and [Flow.Step] (which gathers albums);
//     the turn (one input being applied) and its reply helpers.
//   - commands.go: how one input is routed (commands, buttons, typed button
//     labels), /start, /cancel, /back, /status and the rest, button data.
//   - steps.go: each step's question and buttons and each answer's
//     validator, from the language to the next steps at the end.
//   - opening.go and understand.go: the first message (and a sentence at
//     the first question) read for its language, request, reason and date,
//     confirmed once; a language named at any step; a deep link's payload
//     ([ParseDeepLink]).
//   - documents.go: the documents step: the checklist, uploads (one file or
//     an album), file checks. pages.go: pages and sides (a card's back
//     asked for, another page on request) and "That's not it".
//   - questions.go: free questions answered from the knowledge base (faq).
//   - case.go: the support case's machine, opening a case, staff take-over
//     and relay. casecard.go: the case card, the queue, staff-side texts.
//   - privacy.go: /privacy, /mydata, /forget, retention, [Flow.Due] and
//     [Flow.Wake].
//   - package.go: the end of the journey: /package and its button (a
//     [Package] for the transport, whose outcome comes back as a
//     PackageDone input), reminders before the last day, "I've sent it"
//     and the check-in, /reminders.
//   - session.go: the stored [Session] (small versioned JSON; document
//     contents are never in it) and the transport-neutral [Input] and [Reply].
//   - text.go: small helpers on typed text.
//   - messages.go and locales/*.toml: every user-facing text, in English,
//     Portuguese and French, through go-i18n (plural rules included).
//   - testdata/transcripts: golden conversations, replayed by the tests.
//
// Buttons carry the step they were shown at ("<step>:<action>[:<arg>]", at
// most 64 bytes), so a button pressed after the conversation moved on is
// recognised as out of date. Typing a button's label works like pressing it.
package flows
