// Package store keeps each chat's conversation session: one opaque byte
// value (small JSON written by the flows package) per Telegram chat id, with
// an idle expiry that every write refreshes.
//
// For a transport that must lose no update and send no reply twice, it also
// keeps per chat the ids of the updates applied (the highest
// [AppliedWindow]) and an outbox of replies waiting to be sent.
// [Store.Apply] applies one update atomically: skip it if already applied,
// else run the conversation on the session, store the new session, remember
// the id and append the replies to the outbox. A sender then reads the
// outbox in order ([Store.Outbox]) and acknowledges each message sent
// ([Store.Ack]). Several processes may share one Redis: a per-chat send
// lease ([Store.AcquireSend], [Store.ReleaseSend], taken by Apply when there
// is something to send) lets one of them send a chat's messages at a time,
// and expires so that a crashed process's chats are taken over;
// [Store.PendingChats] finds the chats with messages left after a crash and
// [Store.Lease] is a named global lease (e.g. for the one process polling
// Telegram). A send loop: while holding the lease, send what [Store.Outbox]
// returns, oldest first, Ack each message sent, and when the outbox looks
// empty ReleaseSend; while it answers more, go on. Applied.Outbox holds
// only the messages of that one update: sending them straight away (saving
// the Outbox read) keeps the order only when no older message is pending.
//
// A chat can also ask to be woken without an update (a reminder, an
// erasure due): [Change.Wake] records the earliest time it wants, and
// [Store.Due] hands the chats due to one replica at a time, claiming each
// for a while; the waker then sets the next time with [Store.SetWake].
// [Change.Forget] erases the chat's session, pending messages, send lease
// and wake time in the same step as the rest of the change, keeping only
// the applied update ids, which move in that step to a record named by the
// chat's keyed hash ([ChatHash]: HMAC-SHA256 keyed by a secret, the bot
// token in serve, the hash the logs name chats by) and expire
// [ForgottenTTL] (26 h) after the erasure; every Apply consults that record
// too, so a redelivered update stays a duplicate, and since the ids move in
// the same atomic step as the erasure, no crash can leave an update
// applied but not recognised. Once the messages appended by the erasure are
// acknowledged and the send lease released, no stored key names the chat
// id. [Inspector.Forget] erases everything, that record included, and
// [Inspector.Keys] lists what is left, for checking an erasure.
//
// Records ([Store.GetRecord], [Store.UpdateRecord], [Store.DeleteRecord])
// are what is not a chat's, such as the staff desk's: each is named by a
// space and a key, in a key space no chat id can reach, and expires at the
// TTL of its last write.
//
// [Store] is the contract; two implementations satisfy it:
//
//   - [Redis] (from [OpenRedis]) for deployments with a Redis server. A
//     session is a hash at "<prefix>{chat:<id>}:session" with the fields
//     "data" and "rev"; the "{chat:<id>}" hash tag keeps every key of one
//     chat in one Redis Cluster slot. [Redis.Update] reads data and revision
//     (HMGET), calls the caller's function and writes back with a Lua
//     compare-and-set script that also sets the idle TTL, so an uncontended
//     update costs two round trips, one when the session is in the store's
//     cache of the sessions it wrote last (the script's revision check
//     makes a stale copy cost a retry, never a wrong write). A lost race is retried a bounded number
//     of times before [ErrContention] is returned. Expiry is Redis's own.
//     Next to the session, under the same hash tag: "applied", a sorted set
//     of update ids (score and member the id); "outbox", a stream of
//     messages (field "d") whose entry ids are the message ids; "sender",
//     the send lease (the owner, with a PX expiry). A global lease is
//     "<prefix>lease:<name>". What an erasure leaves is a sorted set like
//     "applied" at "<prefix>{<tag>}:forgotten:<name>", name the chat's
//     [ChatHash.Name] and tag five letters a..p chosen to hash (CRC16) to
//     the Redis Cluster slot of "{chat:<id>}", so that the apply script can
//     move the ids there and read them in the same slot; the tag tells the
//     slot and no more of the id. A record is a hash like a session at
//     "<prefix>rec:{<space>:<key>}", written by the same compare-and-set
//     script. Apply reads everything it needs in one
//     pipeline and writes with one script (two round trips; one when the
//     session is cached), which checks again for a duplicate and for a
//     concurrent write, answering the current session when it lost; Ack, AcquireSend,
//     ReleaseSend and Lease are one script each, Outbox one XRANGE. The
//     wake times are one sorted set for the whole store, "<prefix>wake"
//     (member the chat id, score unix milliseconds), which in a Redis
//     Cluster is in another slot than the chat's keys: Apply writes it in
//     the same pipeline as its script (no extra round trip; see
//     [Store.Apply] for what a lost race leaves there), and Due is one
//     script on it. It has no expiry: a chat whose keys expired may keep
//     its wake time until the waker, finding no session, removes it. An
//     emptied outbox stream stays while the chat has a session (so that
//     ids never repeat), and goes with the last message of a chat without
//     one.
//   - [Bolt] (from [OpenBolt]) for a single process with an embedded bbolt
//     file at "<dir>/aimabot.db". Every record carries its own expiry time;
//     expired records are invisible at once and removed by [Bolt.Sweep],
//     which also runs at open and periodically in the background. Applied
//     ids and the outbox live in their own buckets and expire with the
//     chat's record that Apply writes; the wake times are an index bucket
//     (time, chat) and a map bucket (chat → time), written in the same
//     transactions and swept with the chat; leases are kept in memory. What
//     an erasure leaves is a record like the chat's in the "forgotten"
//     bucket, keyed by the chat's [ChatHash.Name]; the chat's own record
//     stays only until the erasure's last message is acknowledged. Records
//     are in the "records" bucket. Both are swept like the rest.
//
// Both keep the value exactly as given: the store never looks inside it and
// never logs it, nor the chat id. Errors never name the chat either, so a
// caller may log them as they are.
//
// The conformance suite every implementation must pass lives in the
// storetest package.
package store
