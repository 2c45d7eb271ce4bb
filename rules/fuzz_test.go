package rules

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the text and bytes applicants send: dates typed inside
// sentences, and the first bytes of uploaded files. FuzzParseDate is in
// dates_test.go. Run one longer with, for example:
//
//	go test ./rules -run '^$' -fuzz '^FuzzFindDate$' -fuzztime 5m

// FuzzFindDate reads a date inside an arbitrary sentence. It never panics;
// a date it returns exists (month 1-12, day within the month), has a year
// ParseDate accepts and survives String/ParseISO; an error is a *DateError
// with a known code; and a text ParseDate reads on its own is read the same.
func FuzzFindDate(f *testing.F) {
	for _, s := range []string{
		"my card expires on 26/07/2027 I think",
		"o meu cartão é válido até 26 de julho de 2027, obrigada",
		"elle expire le 3 mars 2027 !",
		"26/07/2027, yes 26/07/2027",
		"issued 01/02/2022, expires 26/07/2027",
		"it says 31/02/2027",
		"it says 29 February 2025 on the back",
		"valid until the 1st of March 2028, issued 2018",
		"dia 1.º de março de 2026",
		"2027-07-26",
		"July 26, 2027 or maybe July 27, 2027",
		"I don't know, sorry",
		"",
		"\u200f26/07/2027\u200e",
		"٢٦/٠٧/٢٠٢٧",
		"26 jui 2027",
		strings.Repeat("26 ", 150),
		strings.Repeat("word ", 79) + "26/07/2027",
		"\xff\xfe 26/07/2027",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := FindDate(s)
		if err != nil {
			var de *DateError
			if !errors.As(err, &de) {
				t.Fatalf("FindDate(%q) error %v (%T) is not a *DateError", s, err, err)
			}
			if de.Code != DateUnrecognised && de.Code != DateImpossible {
				t.Fatalf("FindDate(%q) error code = %q; want %q or %q", s, de.Code, DateUnrecognised, DateImpossible)
			}
			if !got.IsZero() {
				t.Fatalf("FindDate(%q) = %v with error %v; want the zero Date with an error", s, got, err)
			}
			if _, perr := ParseDate(s); perr == nil {
				t.Fatalf("FindDate(%q) failed (%v) but ParseDate reads the whole text", s, err)
			}
			return
		}
		if got.Month < time.January || got.Month > time.December {
			t.Fatalf("FindDate(%q) = %#v: month out of 1..12", s, got)
		}
		if got.Day < 1 || got.Day > DaysIn(got.Year, got.Month) {
			t.Fatalf("FindDate(%q) = %#v: day out of 1..%d", s, got, DaysIn(got.Year, got.Month))
		}
		if got.Year < MinYear || got.Year > MaxYear {
			t.Fatalf("FindDate(%q) = %v; want a year in %d..%d", s, got, MinYear, MaxYear)
		}
		if _, err := NewDate(got.Year, got.Month, got.Day); err != nil {
			t.Fatalf("FindDate(%q) = %v, which NewDate refuses: %v", s, got, err)
		}
		back, err := ParseISO(got.String())
		if err != nil || back != got {
			t.Fatalf("ParseISO(FindDate(%q).String()) = %v, %v; want %v, nil", s, back, err, got)
		}
		if whole, err := ParseDate(s); err == nil && whole != got {
			t.Fatalf("FindDate(%q) = %v; ParseDate reads the whole text as %v", s, got, whole)
		}
		if len(s) > maxSentence {
			t.Fatalf("FindDate read a date in %d bytes of text; it looks through at most %d", len(s), maxSentence)
		}
	})
}

// FuzzSniffFileType sniffs arbitrary first bytes. It accepts exactly the
// three types (each with an extension), decides from the first 8 bytes
// alone, keeps its answer whatever follows, and an accepted type of a size
// within the limit passes CheckFile.
func FuzzSniffFileType(f *testing.F) {
	for _, b := range [][]byte{
		[]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"),
		[]byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"),
		[]byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"),
		[]byte("PK\x03\x04\x14\x00\x06\x00"),
		[]byte("\xFF\xD8"),
		[]byte("GIF89a"),
		[]byte("\x00\x00\x00\x18ftypheic"),
		{},
	} {
		f.Add(b, int64(len(b)))
	}
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		typ, ok := SniffFileType(head)
		switch typ {
		case JPEG, PNG, PDF:
			if !ok {
				t.Fatalf("SniffFileType(%q) = %q, false; a known type must be accepted", head, typ)
			}
			if typ.Ext() == "" {
				t.Fatalf("SniffFileType(%q) = %q, which has no extension", head, typ)
			}
		case "":
			if ok {
				t.Fatalf("SniffFileType(%q) = \"\", true; want false", head)
			}
		default:
			t.Fatalf("SniffFileType(%q) = %q, %t; want JPEG, PNG, PDF or nothing", head, typ, ok)
		}
		if t8, ok8 := SniffFileType(head[:min(len(head), 8)]); t8 != typ || ok8 != ok {
			t.Fatalf("SniffFileType(%q) = %q, %t but its first 8 bytes give %q, %t", head, typ, ok, t8, ok8)
		}
		if ok {
			longer := append(bytes.Clone(head), "trailing bytes"...)
			if t2, ok2 := SniffFileType(longer); t2 != typ || !ok2 {
				t.Fatalf("SniffFileType(%q) = %q but with more bytes after it %q, %t", head, typ, t2, ok2)
			}
			if size >= 1 && size <= MaxFileBytes {
				if err := CheckFile(typ, size); err != nil {
					t.Fatalf("CheckFile(%q, %d) = %v; want nil for a sniffed type within the limit", typ, size, err)
				}
			}
		}
	})
}

// FuzzCheckFile checks arbitrary types and sizes: nil exactly for an
// accepted type of 1..MaxFileBytes bytes, else a *FileError carrying the
// size, the size checked before the type.
func FuzzCheckFile(f *testing.F) {
	for _, tc := range []struct {
		typ  string
		size int64
	}{
		{string(JPEG), 1}, {string(PDF), MaxFileBytes}, {string(PNG), MaxFileBytes + 1}, {string(PDF), 0},
		{"image/gif", 100}, {"", -1}, {"IMAGE/JPEG", 10}, {string(PNG), -1 << 63},
	} {
		f.Add(tc.typ, tc.size)
	}
	f.Fuzz(func(t *testing.T, typ string, size int64) {
		err := CheckFile(FileType(typ), size)
		accepted := typ == string(JPEG) || typ == string(PNG) || typ == string(PDF)
		var want FileErrorCode
		switch {
		case size <= 0:
			want = FileEmpty
		case size > MaxFileBytes:
			want = FileTooLarge
		case !accepted:
			want = FileWrongType
		}
		if want == "" {
			if err != nil {
				t.Fatalf("CheckFile(%q, %d) = %v; want nil", typ, size, err)
			}
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) || fe.Code != want || fe.Size != size {
			t.Fatalf("CheckFile(%q, %d) = %#v; want a *FileError %q with the size", typ, size, err, want)
		}
		if fe.Error() == "" {
			t.Fatalf("CheckFile(%q, %d): empty error text", typ, size)
		}
	})
}
