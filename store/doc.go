// Package store keeps each chat's conversation session: one opaque byte
// value (small JSON written by the flows package) per Telegram chat id, with
// an idle expiry that every write refreshes.
//
// [Store] is the contract; two implementations satisfy it:
//
//   - [Redis] (from [OpenRedis]) for deployments with a Redis server. A
//     session is a hash at "<prefix>{chat:<id>}:session" with the fields
//     "data" and "rev"; the "{chat:<id>}" hash tag keeps every key of one
//     chat in one Redis Cluster slot. [Redis.Update] reads data and revision
//     (HMGET), calls the caller's function and writes back with a Lua
//     compare-and-set script that also sets the idle TTL, so an uncontended
//     update costs two round trips. A lost race is retried a bounded number
//     of times before [ErrContention] is returned. Expiry is Redis's own.
//   - [Bolt] (from [OpenBolt]) for a single process with an embedded bbolt
//     file at "<dir>/aimabot.db". Every record carries its own expiry time;
//     expired records are invisible at once and removed by [Bolt.Sweep],
//     which also runs at open and periodically in the background.
//
// Both keep the value exactly as given: the store never looks inside it and
// never logs it, nor the chat id. Errors never name the chat either, so a
// caller may log them as they are.
//
// The conformance suite every implementation must pass lives in the
// storetest package.
package store
