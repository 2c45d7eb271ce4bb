// Package bot connects the conversation (package flows) to Telegram through
// go-telegram/bot, and keeps the staff group.
//
// One update's path, from Telegram to the applicant:
//
//	webhook.go / poll.go    an update arrives (a POST, or a getUpdates batch)
//	  intake.handle         read it into a flows.Input (files checked by content)
//	  pipeline.run          lock the chat here, claim it for the sender
//	    committer.commit    Store.Apply: flow.Step on the stored session;
//	                        the new session, the replies as outbox messages
//	                        and the next wake-up, in one atomic step that
//	                        skips an update already applied
//	    sender.deliver      hand the committed messages to the chat's drain
//	  200 / offset          only now is the update confirmed to Telegram
//	sender.drain            under the chat's send lease: pace, call Telegram,
//	                        Ack each message, the last with the lease's release;
//	                        staff-group operations go to the desk
//
// A crash anywhere on that path loses nothing and sends nothing twice: an
// update not committed is delivered again, one committed is recognised, and
// a message not acknowledged stays in the outbox for the next sender.
//
// The components, each built in [Bot.wire] from the narrow parts it uses
// (stores.go names what each needs of the store), none holding the [Bot]:
//
//   - committer (commit.go): the one way a conversation changes. Every
//     input is committed by committer.commit: an update, a wake-up
//     (flows.WakeUp), an album's end (flows.AlbumEnd), a reply refused
//     because the applicant blocked the bot (flows.BotBlocked), and the
//     console's lines ([Console]). Nothing else writes a session.
//   - pipeline (commit.go): one chat's inputs one at a time on this replica,
//     each committed and handed to the sender under a claim, so the sender
//     may send the committed messages without reading them back, and never
//     sends one twice (sender.claim, sender.kick).
//   - intake (intake.go, staff.go, poll.go, webhook.go): updates to inputs;
//     a staff member's message in a case's topic becomes an input of that
//     applicant's conversation, found through the desk.
//   - sender (sender.go): delivers each chat's outbox in order, retrying
//     what can succeed later; a 403 becomes flows.BotBlocked.
//   - desk (desk.go, desk_case.go, desk_post.go, desk_queue.go, erase.go,
//     rights.go): the staff group, one topic per case, the queue, erasures.
//     Where each case is shown (topic, card, what was posted) is its own
//     record, apart from the sessions.
//   - albums (albums.go) and waker (wake.go): inputs without an update.
//   - packer (packer.go): a package (flows.Package) is an outbox operation
//     the sender performs under the chat's send lease: files fetched into
//     memory, one PDF per document (package pack), sent back, the outcome
//     committed as flows.PackageDone; one package at a time per replica.
//   - telegram (telegram.go): the one place that calls the Bot API: timeout,
//     redaction of the token, metrics, and one error type (apiError) that
//     says whether to retry after a pause, back off, give up, or treat the
//     chat as gone. pacer (pace.go): Telegram's send limits, shared by the
//     sender and the desk.
//   - ops.go, listen.go: metrics, health and readiness, bounded listeners.
//
// Dependencies go one way: intake → pipeline → committer and sender;
// sender → committer (for blocks), desk, pacer, telegram; desk → pacer,
// telegram. The outbox's operations (render.go) are what the committer
// writes and the sender reads.
package bot
