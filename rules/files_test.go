package rules

import (
	"errors"
	"testing"
)

func TestSniffFileType(t *testing.T) {
	tests := []struct {
		name   string
		head   []byte   // first bytes of the file
		want   FileType // type recognised
		wantOK bool     // whether the type is accepted
	}{
		{name: "JPEG JFIF", head: []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), want: JPEG, wantOK: true},
		{name: "JPEG Exif", head: []byte("\xFF\xD8\xFF\xE1\x00\x18Exif"), want: JPEG, wantOK: true},
		{name: "PNG", head: []byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"), want: PNG, wantOK: true},
		{name: "PDF", head: []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), want: PDF, wantOK: true},
		{name: "PDF header alone", head: []byte("%PDF-"), want: PDF, wantOK: true},
		{name: "ZIP renamed to .pdf", head: []byte("PK\x03\x04\x14\x00\x06\x00"), wantOK: false},
		{name: "empty", head: []byte{}, wantOK: false},
		{name: "nil", head: nil, wantOK: false},
		{name: "truncated JPEG marker", head: []byte("\xFF\xD8"), wantOK: false},
		{name: "truncated PNG signature", head: []byte("\x89PNG\r\n"), wantOK: false},
		{name: "PDF without the dash", head: []byte("%PDF"), wantOK: false},
		{name: "PDF after leading junk", head: []byte("\n%PDF-1.4"), wantOK: false},
		{name: "lowercase pdf", head: []byte("%pdf-1.4"), wantOK: false},
		{name: "GIF", head: []byte("GIF89a"), wantOK: false},
		{name: "HEIC", head: []byte("\x00\x00\x00\x18ftypheic"), wantOK: false},
		{name: "plain text", head: []byte("hello"), wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SniffFileType(tt.head)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("SniffFileType(%q) = %q, %t; want %q, %t", tt.head, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFileTypeExt(t *testing.T) {
	tests := []struct {
		name string
		in   FileType // file type
		want string   // extension with its dot; "" for a refused type
	}{
		{name: "JPEG", in: JPEG, want: ".jpg"},
		{name: "PNG", in: PNG, want: ".png"},
		{name: "PDF", in: PDF, want: ".pdf"},
		{name: "ZIP", in: "application/zip", want: ""},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Ext(); got != tt.want {
				t.Errorf("FileType(%q).Ext() = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	tests := []struct {
		name     string
		typ      FileType      // sniffed type
		size     int64         // size in bytes
		wantCode FileErrorCode // expected error code; "" for an accepted file
	}{
		{name: "small JPEG", typ: JPEG, size: 150_000},
		{name: "one-byte PDF", typ: PDF, size: 1},
		{name: "PNG of exactly 20 MiB", typ: PNG, size: 20 * 1024 * 1024},
		{name: "PDF one byte over 20 MiB", typ: PDF, size: 20*1024*1024 + 1, wantCode: FileTooLarge},
		{name: "huge file", typ: JPEG, size: 1 << 40, wantCode: FileTooLarge},
		{name: "empty", typ: PDF, size: 0, wantCode: FileEmpty},
		{name: "negative size", typ: PDF, size: -1, wantCode: FileEmpty},
		{name: "ZIP", typ: "application/zip", size: 1000, wantCode: FileWrongType},
		{name: "no type", typ: "", size: 1000, wantCode: FileWrongType},
		{name: "oversized and wrong type reports the size", typ: "application/zip", size: 30 << 20, wantCode: FileTooLarge},
		{name: "empty and wrong type reports empty", typ: "", size: 0, wantCode: FileEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFile(tt.typ, tt.size)
			if tt.wantCode == "" {
				if err != nil {
					t.Errorf("CheckFile(%q, %d) = %v; want nil", tt.typ, tt.size, err)
				}
				return
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Code != tt.wantCode || fe.Size != tt.size {
				t.Errorf("CheckFile(%q, %d) = %#v; want &FileError{Code: %q, Size: %d}", tt.typ, tt.size, err, tt.wantCode, tt.size)
			}
		})
	}
}

func TestMaxFileBytes(t *testing.T) {
	if MaxFileBytes != 20*1024*1024 {
		t.Errorf("MaxFileBytes = %d; want %d", MaxFileBytes, 20*1024*1024)
	}
}
