package rules

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestKinds(t *testing.T) {
	want := []Kind{DataChange, Duplicate}
	if got := Kinds(); !slices.Equal(got, want) {
		t.Errorf("Kinds() = %v; want %v", got, want)
	}
}

func TestReasons(t *testing.T) {
	tests := []struct {
		name string
		kind Kind     // argument to Reasons
		want []Reason // reasons in display order; nil for an unknown kind
	}{
		{
			name: "data change",
			kind: DataChange,
			want: []Reason{Address, Name, CivilStatus, Nationality, OtherChange},
		},
		{
			name: "duplicate",
			kind: Duplicate,
			want: []Reason{Lost, Stolen, Damaged},
		},
		{
			name: "unknown kind",
			kind: "renewal",
			want: nil,
		},
		{
			name: "empty kind",
			kind: "",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reasons(tt.kind)
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Reasons(%q) = %#v; want %#v", tt.kind, got, tt.want)
			}
		})
	}
}

func TestReasonsReturnsCopy(t *testing.T) {
	Reasons(DataChange)[0] = Lost
	if got := Reasons(DataChange)[0]; got != Address {
		t.Errorf("Reasons(DataChange)[0] after caller modified a result = %q; want %q", got, Address)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name   string
		reason Reason // argument to KindOf
		want   Kind   // the kind the reason belongs to; "" if unknown
	}{
		{name: "address", reason: Address, want: DataChange},
		{name: "name", reason: Name, want: DataChange},
		{name: "civil status", reason: CivilStatus, want: DataChange},
		{name: "nationality", reason: Nationality, want: DataChange},
		{name: "other", reason: OtherChange, want: DataChange},
		{name: "lost", reason: Lost, want: Duplicate},
		{name: "stolen", reason: Stolen, want: Duplicate},
		{name: "damaged", reason: Damaged, want: Duplicate},
		{name: "unknown", reason: "expired", want: ""},
		{name: "wrong case", reason: "Lost", want: ""},
		{name: "empty", reason: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.reason); got != tt.want {
				t.Errorf("KindOf(%q) = %q; want %q", tt.reason, got, tt.want)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	tests := []struct {
		name     string
		in       string      // text given to ParseKind
		want     Kind        // kind returned on success
		wantCode IDErrorCode // expected error code; "" for success
	}{
		{name: "data change", in: "data_change", want: DataChange},
		{name: "duplicate", in: "duplicate", want: Duplicate},
		{name: "wrong case", in: "Duplicate", wantCode: UnknownKind},
		{name: "surrounding space", in: " duplicate", wantCode: UnknownKind},
		{name: "reason instead of kind", in: "lost", wantCode: UnknownKind},
		{name: "empty", in: "", wantCode: UnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKind(tt.in)
			if code := idErrorCode(t, err); code != tt.wantCode {
				t.Fatalf("ParseKind(%q) error code = %q; want %q", tt.in, code, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("ParseKind(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseReason(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind        // kind the reason must belong to
		in       string      // text given to ParseReason
		want     Reason      // reason returned on success
		wantCode IDErrorCode // expected error code; "" for success
	}{
		{name: "address of data change", kind: DataChange, in: "address", want: Address},
		{name: "name of data change", kind: DataChange, in: "name", want: Name},
		{name: "civil status of data change", kind: DataChange, in: "civil_status", want: CivilStatus},
		{name: "nationality of data change", kind: DataChange, in: "nationality", want: Nationality},
		{name: "other of data change", kind: DataChange, in: "other", want: OtherChange},
		{name: "lost of duplicate", kind: Duplicate, in: "lost", want: Lost},
		{name: "stolen of duplicate", kind: Duplicate, in: "stolen", want: Stolen},
		{name: "damaged of duplicate", kind: Duplicate, in: "damaged", want: Damaged},
		{name: "duplicate reason under data change", kind: DataChange, in: "lost", wantCode: ReasonNotOfKind},
		{name: "data change reason under duplicate", kind: Duplicate, in: "address", wantCode: ReasonNotOfKind},
		{name: "unknown reason", kind: Duplicate, in: "burnt", wantCode: UnknownReason},
		{name: "empty reason", kind: DataChange, in: "", wantCode: UnknownReason},
		{name: "unknown kind", kind: "renewal", in: "address", wantCode: UnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReason(tt.kind, tt.in)
			if code := idErrorCode(t, err); code != tt.wantCode {
				t.Fatalf("ParseReason(%q, %q) error code = %q; want %q", tt.kind, tt.in, code, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("ParseReason(%q, %q) = %q; want %q", tt.kind, tt.in, got, tt.want)
			}
		})
	}
}

// idErrorCode returns the code of an *IDError, "" for nil, and fails the
// test for any other error.
func idErrorCode(t *testing.T, err error) IDErrorCode {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *IDError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *IDError", err, err)
	}
	return e.Code
}

func TestIDErrorOmitsValue(t *testing.T) {
	_, err := ParseKind("my name is Maria")
	if err == nil {
		t.Fatal(`ParseKind("my name is Maria") = nil error; want an error`)
	}
	if got, want := err.Error(), "rules: unknown request kind"; got != want {
		t.Errorf("ParseKind(...).Error() = %q; want %q", got, want)
	}
}

func TestDocuments(t *testing.T) {
	// m and o keep the table readable: mandatory and optional documents.
	m := func(id DocID) Document { return Document{ID: id, Mandatory: true} }
	o := func(id DocID) Document { return Document{ID: id, Mandatory: false} }
	tests := []struct {
		name   string
		kind   Kind       // request kind
		reason Reason     // reason within the kind
		want   []Document // documents in upload order
	}{
		{
			name: "address change", kind: DataChange, reason: Address,
			want: []Document{m("passport"), m("residence_card"), m("honour_declaration"), m("housing_proof"), o("tax_address_certificate")},
		},
		{
			name: "name change", kind: DataChange, reason: Name,
			want: []Document{m("passport"), m("residence_card"), m("name_change_certificate")},
		},
		{
			name: "civil status change", kind: DataChange, reason: CivilStatus,
			want: []Document{m("passport"), m("residence_card"), m("civil_status_certificate")},
		},
		{
			name: "nationality or new passport", kind: DataChange, reason: Nationality,
			want: []Document{m("passport"), m("residence_card"), o("naturalisation_certificate")},
		},
		{
			name: "other change", kind: DataChange, reason: OtherChange,
			want: []Document{m("passport"), m("residence_card"), m("change_proof")},
		},
		{
			name: "lost card", kind: Duplicate, reason: Lost,
			want: []Document{m("passport"), o("residence_card"), m("police_report")},
		},
		{
			name: "stolen card", kind: Duplicate, reason: Stolen,
			want: []Document{m("passport"), o("residence_card"), m("police_report")},
		},
		{
			name: "damaged card", kind: Duplicate, reason: Damaged,
			want: []Document{m("passport"), m("residence_card"), m("damaged_card_photos"), m("damage_declaration")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Documents(tt.kind, tt.reason)
			if err != nil {
				t.Fatalf("Documents(%q, %q) error = %v; want nil", tt.kind, tt.reason, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Documents(%q, %q) = %v; want %v", tt.kind, tt.reason, got, tt.want)
			}
		})
	}
}

func TestDocumentsCoversEveryReason(t *testing.T) {
	// A reason added to Reasons but forgotten in Documents would silently ask
	// for nothing but the passport and the card.
	for _, k := range Kinds() {
		for _, r := range Reasons(k) {
			docs, err := Documents(k, r)
			if err != nil || len(docs) < 3 {
				t.Errorf("Documents(%q, %q) = %v, %v; want at least 3 documents", k, r, docs, err)
			}
		}
	}
}

func TestDocumentsErrors(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind        // request kind
		reason   Reason      // reason given with it
		wantCode IDErrorCode // expected error code
	}{
		{name: "reason of the other kind", kind: Duplicate, reason: Address, wantCode: ReasonNotOfKind},
		{name: "duplicate reason as data change", kind: DataChange, reason: Stolen, wantCode: ReasonNotOfKind},
		{name: "unknown reason", kind: DataChange, reason: "gender", wantCode: UnknownReason},
		{name: "unknown kind", kind: "renewal", reason: Lost, wantCode: UnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Documents(tt.kind, tt.reason)
			if code := idErrorCode(t, err); code != tt.wantCode {
				t.Errorf("Documents(%q, %q) error code = %q; want %q", tt.kind, tt.reason, code, tt.wantCode)
			}
			if got != nil {
				t.Errorf("Documents(%q, %q) = %v; want nil", tt.kind, tt.reason, got)
			}
		})
	}
}

func TestDocumentsReturnsCopy(t *testing.T) {
	docs, _ := Documents(Duplicate, Lost)
	docs[1].Mandatory = true
	docs, _ = Documents(Duplicate, Lost)
	if docs[1].Mandatory {
		t.Errorf("Documents(Duplicate, Lost)[1].Mandatory after caller modified a result = true; want false")
	}
}

func TestAllDocIDs(t *testing.T) {
	want := []DocID{
		"passport", "residence_card",
		"honour_declaration", "housing_proof", "tax_address_certificate",
		"name_change_certificate", "civil_status_certificate", "naturalisation_certificate", "change_proof",
		"police_report", "damaged_card_photos", "damage_declaration",
	}
	if got := AllDocIDs(); !slices.Equal(got, want) {
		t.Errorf("AllDocIDs() = %v; want %v", got, want)
	}
}

func TestFileNames(t *testing.T) {
	seen := map[string]DocID{}
	for _, id := range AllDocIDs() {
		name := FileName(id)
		if name == string(id)+".pdf" {
			t.Errorf("FileName(%s) = %q; want a Portuguese name after the form", id, name)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("FileName(%s) = FileName(%s) = %q; want one name per document", id, other, name)
		}
		seen[name] = id
	}
}

func TestDateAt(t *testing.T) {
	tests := []struct {
		name string
		d    Date
		want string
	}{
		{"winter", Date{2027, time.January, 15}, "2027-01-15T09:00:00Z"},
		{"summer", Date{2027, time.July, 15}, "2027-07-15T08:00:00Z"},
	}
	for _, tt := range tests {
		if got := tt.d.At(ReminderHour).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("%s: %v.At(9) = %s; want %s", tt.name, tt.d, got, tt.want)
		}
	}
}
