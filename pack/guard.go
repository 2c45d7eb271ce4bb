package pack

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// pdfcpu's object parser recurses once per nesting level of arrays and
// dictionaries, and parses a dictionary that fails strictly a second time,
// relaxed, with every dictionary inside it: a PDF of 4.8 MB made of nested
// arrays overflows the goroutine stack, a fatal error that recover cannot
// catch, and 1,000 nested broken dictionaries in 7 KB keep it busy for
// 2^1000 steps (the context pdfcpu.ReadWithContext takes is not passed down
// to nested objects). checkNesting refuses such PDFs before pdfcpu reads
// them.
const (
	maxNesting  = 64       // arrays and dictionaries one inside another
	maxDicts    = 32       // dictionaries one inside another
	maxWork     = 1 << 21  // sum of 2^(depth-1) over dictionaries, about 2 s of parsing
	maxInflated = 64 << 20 // bytes of object streams inflated for the check
)

// checkNesting scans pdf's objects, and its Flate-compressed object
// streams, and returns an error if arrays and dictionaries nest too deep
// for pdfcpu to parse safely. It reads tokens only roughly (strings and
// comments count as if they were code), which errs towards counting more;
// a real PDF nests a few levels: the 510 PDFs in pdfcpu's own test data
// all pass, the worst at 1/140 of maxWork. Object streams encrypted or
// compressed otherwise than with Flate cannot be checked.
func checkNesting(pdf []byte) error {
	s := nestScan{inflateLeft: maxInflated}
	return s.scan(pdf, true)
}

type nestScan struct {
	work        int64 // sum of 2^(depth-1) over dictionaries
	inflateLeft int64 // bytes that object streams may still inflate to
}

// scan checks b, a whole PDF file if file, or else the content of an
// object stream.
func (s *nestScan) scan(b []byte, file bool) error {
	var (
		stack   []byte // '[' or '<' for each array or dictionary open
		dicts   int    // dictionaries on stack
		topDict = -1   // where the outermost dictionary opened
	)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '[':
			if len(stack) == maxNesting {
				return fmt.Errorf("arrays and dictionaries nested more than %d deep", maxNesting)
			}
			stack = append(stack, '[')
		case ']':
			if n := len(stack); n > 0 && stack[n-1] == '[' {
				stack = stack[:n-1]
			}
		case '<':
			if i+1 == len(b) || b[i+1] != '<' {
				continue
			}
			if len(stack) == 0 {
				topDict = i
			}
			i++
			if len(stack) == maxNesting || dicts == maxDicts {
				return fmt.Errorf("dictionaries nested more than %d deep", min(maxNesting, maxDicts))
			}
			stack = append(stack, '<')
			dicts++
			if s.work += 1 << (dicts - 1); s.work > maxWork {
				return errors.New("too many nested dictionaries")
			}
		case '>':
			if i+1 == len(b) || b[i+1] != '>' {
				continue
			}
			i++
			if n := len(stack); n > 0 && stack[n-1] == '<' {
				stack = stack[:n-1]
				dicts--
			}
		case 'e':
			if file && keyword(b, i, "endobj") {
				stack, dicts, topDict = stack[:0], 0, -1
			}
		case 's':
			if !file || !keyword(b, i, "stream") {
				continue
			}
			data := b[i+len("stream"):]
			end := bytes.Index(data, []byte("endstream"))
			if end < 0 {
				end = len(data)
			}
			if topDict >= 0 && isObjStm(b[topDict:i]) {
				if err := s.objStm(data[:end]); err != nil {
					return err
				}
			}
			i += len("stream") + end + len("endstream") - 1
			stack, dicts, topDict = stack[:0], 0, -1
		}
	}
	return nil
}

// objStm inflates and scans an object stream's data, if Flate-compressed.
func (s *nestScan) objStm(data []byte) error {
	data = bytes.TrimLeft(data, "\r\n")
	z, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil // not Flate, or encrypted: pdfcpu will tell
	}
	out, _ := io.ReadAll(io.LimitReader(z, s.inflateLeft+1))
	if s.inflateLeft -= int64(len(out)); s.inflateLeft < 0 {
		return fmt.Errorf("object streams over %d MB once inflated", maxInflated>>20)
	}
	return s.scan(out, false)
}

// isObjStm reports whether a stream dictionary may be an object stream's:
// its type is written /ObjStm, or with an escape (#xx) in a name.
func isObjStm(dict []byte) bool {
	return bytes.Contains(dict, []byte("ObjStm")) || bytes.IndexByte(dict, '#') >= 0
}

// keyword reports whether b holds the keyword kw at i, delimited on both
// sides.
func keyword(b []byte, i int, kw string) bool {
	if !bytes.HasPrefix(b[i:], []byte(kw)) {
		return false
	}
	if i > 0 && regular(b[i-1]) {
		return false
	}
	j := i + len(kw)
	return j == len(b) || !regular(b[j])
}

// regular reports whether c is a PDF regular character: neither white
// space nor a delimiter.
func regular(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}
