package rules

// Kind is the type of request made through AIMA's contact form.
type Kind string

const (
	DataChange Kind = "data_change" // "alteração de dados"
	Duplicate  Kind = "duplicate"   // "2.ª via" of the card
)

// Reason is why the applicant makes the request; every reason belongs to
// exactly one kind, and it decides which proof AIMA expects.
type Reason string

const (
	Address     Reason = "address"
	Name        Reason = "name"
	CivilStatus Reason = "civil_status"
	Nationality Reason = "nationality" // nationality or new passport
	OtherChange Reason = "other"

	Lost    Reason = "lost"
	Stolen  Reason = "stolen"
	Damaged Reason = "damaged"
)

// Kinds returns every kind in display order. The slice is new on every call,
// so callers may modify it.
func Kinds() []Kind {
	return []Kind{DataChange, Duplicate}
}

// Reasons returns the reasons of k in display order, or nil for an unknown
// kind. The slice is new on every call.
func Reasons(k Kind) []Reason {
	switch k {
	case DataChange:
		// Address first: it is by far the most common change.
		return []Reason{Address, Name, CivilStatus, Nationality, OtherChange}
	case Duplicate:
		return []Reason{Lost, Stolen, Damaged}
	}
	return nil
}

// KindOf returns the kind r belongs to, or "" for an unknown reason.
func KindOf(r Reason) Kind {
	switch r {
	case Address, Name, CivilStatus, Nationality, OtherChange:
		return DataChange
	case Lost, Stolen, Damaged:
		return Duplicate
	}
	return ""
}

// ParseKind accepts only the exact ids of the constants: the ids come from
// button callbacks and storage, never from free text, so anything else is a
// bug or a stale button rather than something to guess at.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case DataChange, Duplicate:
		return k, nil
	}
	return "", &IDError{Code: UnknownKind, Value: s}
}

// ParseReason accepts the exact id of a reason that belongs to k. A reason of
// the other kind is refused so that a stale button from an earlier menu
// cannot produce an impossible request.
func ParseReason(k Kind, s string) (Reason, error) {
	if Reasons(k) == nil {
		return "", &IDError{Code: UnknownKind, Kind: k, Value: string(k)}
	}
	r := Reason(s)
	switch KindOf(r) {
	case k:
		return r, nil
	case "":
		return "", &IDError{Code: UnknownReason, Kind: k, Value: s}
	}
	return "", &IDError{Code: ReasonNotOfKind, Kind: k, Value: s}
}

// IDErrorCode says why an id was refused.
type IDErrorCode string

const (
	UnknownKind     IDErrorCode = "unknown_kind"
	UnknownReason   IDErrorCode = "unknown_reason"
	ReasonNotOfKind IDErrorCode = "reason_not_of_kind"
)

// IDError reports a kind or reason id that cannot be used.
type IDError struct {
	Code  IDErrorCode
	Kind  Kind   // the kind asked for, when there was one
	Value string // the refused id; not part of Error, as it may come from outside
}

func (e *IDError) Error() string {
	switch e.Code {
	case UnknownKind:
		return "rules: unknown request kind"
	case UnknownReason:
		return "rules: unknown request reason"
	case ReasonNotOfKind:
		return "rules: reason does not belong to the request kind"
	}
	return "rules: invalid id"
}
