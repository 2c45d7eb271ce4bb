package rules

import "bytes"

// MaxFileBytes is the largest file a bot may download through the Bot API
// (getFile); anything bigger cannot even be fetched to check it.
const MaxFileBytes = 20 << 20

// FileType is the media type of an accepted upload. AIMA publishes no format
// rules (facts 2c); PDF and JPEG are the safest, and PNG is how phones save
// screenshots of digital documents.
type FileType string

const (
	JPEG FileType = "image/jpeg"
	PNG  FileType = "image/png"
	PDF  FileType = "application/pdf"
)

// Ext returns the usual file-name extension for t, with its dot, or "" for
// a type that is not accepted.
func (t FileType) Ext() string {
	switch t {
	case JPEG:
		return ".jpg"
	case PNG:
		return ".png"
	case PDF:
		return ".pdf"
	}
	return ""
}

// SniffFileType recognises an accepted type from the first bytes of a file
// (512 are plenty; 8 suffice). It trusts only the content, never a name or a
// declared MIME type: a ZIP or Word file renamed to .pdf must be refused
// before it reaches AIMA.
func SniffFileType(head []byte) (FileType, bool) {
	switch {
	case bytes.HasPrefix(head, []byte("\xFF\xD8\xFF")):
		return JPEG, true
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1A\n")):
		return PNG, true
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF, true
	}
	return "", false
}

// FileErrorCode says why a file is refused.
type FileErrorCode string

const (
	FileEmpty     FileErrorCode = "empty"
	FileTooLarge  FileErrorCode = "too_large"
	FileWrongType FileErrorCode = "wrong_type"
)

// FileError reports a refused file; Size is the size that was checked, for
// a reply such as "your file is 23 MB, the limit is 20 MB".
type FileError struct {
	Code FileErrorCode
	Size int64
}

func (e *FileError) Error() string {
	switch e.Code {
	case FileEmpty:
		return "rules: empty file"
	case FileTooLarge:
		return "rules: file too large"
	case FileWrongType:
		return "rules: file type not accepted"
	}
	return "rules: file refused"
}

// CheckFile returns nil if a file of type t and size bytes can be accepted,
// or a *FileError. Size is checked first because an oversized file cannot be
// downloaded to sniff its type. A size of zero or less counts as empty;
// Telegram may omit a file's size, so a caller must not pass 0 for "unknown".
func CheckFile(t FileType, size int64) error {
	switch {
	case size <= 0:
		return &FileError{Code: FileEmpty, Size: size}
	case size > MaxFileBytes:
		return &FileError{Code: FileTooLarge, Size: size}
	case t != JPEG && t != PNG && t != PDF:
		return &FileError{Code: FileWrongType, Size: size}
	}
	return nil
}
