// Package rules is the domain core of the bot: what AIMA's online contact
// form accepts for a change of personal data ("alteração de dados") or a
// second copy ("2.ª via") of a residence card, and the small calculations
// the conversation needs to guide an applicant.
//
// A short tour:
//
//   - [Kind] and [Reason] name the request: [DataChange] with [Address],
//     [Name], [CivilStatus], [Nationality] or [OtherChange]; [Duplicate] with
//     [Lost], [Stolen] or [Damaged]. [Kinds] and [Reasons] give the menu
//     order, [ParseKind] and [ParseReason] turn stored or callback ids back
//     into values.
//   - [Documents] lists what to upload for a kind and reason, in the order
//     the applicant should send it; each [DocID] is a stable id that the
//     message catalogs describe to the user.
//   - [Date] is a civil date with no time of day. [Today] says which date it
//     is in Lisbon, [ParseDate] reads dates the way people type them (day
//     first, month names in English, Portuguese and French) and [ParseISO]
//     reads the strict form used by flags and storage.
//   - [CheckEligibility] applies AIMA's 90-day rule to a card's expiry date.
//   - [SniffFileType] and [CheckFile] decide whether an upload can be
//     accepted at all.
//
// The package does no I/O and never reads the clock: "today" is always an
// argument, so every rule can be tested at any date. Errors carry codes and
// the values read ([DateError], [FileError], [IDError]); turning them into
// sentences in the user's language is the job of the message catalogs, and
// Error strings never repeat what the user typed.
package rules
