package pack

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aimabot/aimabot/rules"
)

// DefaultMaxBytes is the largest PDF that Build makes when Options.MaxBytes
// is not set: 5 MiB.
const DefaultMaxBytes = 5 << 20

// ErrTooBig matches (with errors.Is) the error Build returns when the
// document cannot fit under Options.MaxBytes while staying legible.
var ErrTooBig = errors.New("pack: document too big")

// ErrNoParts is the error Build returns when it is given no parts.
var ErrNoParts = errors.New("pack: no parts")

// Part is one file of a document, in the order the applicant sent it.
type Part struct {
	Type rules.FileType // rules.JPEG, rules.PNG or rules.PDF
	Data []byte         // the file as sent
}

// Options tune Build; zero values take the defaults.
type Options struct {
	// MaxBytes is the largest PDF to produce; zero or less means
	// DefaultMaxBytes.
	MaxBytes int64
}

// Result is the PDF built.
type Result struct {
	PDF   []byte // the whole PDF
	Pages int    // its page count, as pdfcpu reads it back
}

// PartError reports a part that cannot be read: a corrupt or truncated
// image, an image that is not of its declared type, a broken PDF or one
// that needs a password to open, or an unsupported type.
type PartError struct {
	Index int   // the part's index in the slice given to Build, from 0
	Err   error // the cause
}

func (e *PartError) Error() string {
	return fmt.Sprintf("pack: part %d: %v", e.Index, e.Err)
}

// Unwrap returns the cause.
func (e *PartError) Unwrap() error { return e.Err }

// TooBigError reports a document that cannot fit under the limit while
// staying legible. It matches ErrTooBig.
type TooBigError struct {
	// Size is the smallest size reached, in bytes: of a PDF built, or of
	// the parts alone when Build gave up on an attempt as soon as they were
	// over the limit (a lower bound, then).
	Size int64
	// Limit is the limit in effect, in bytes.
	Limit int64
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("pack: document too big: at least %d bytes, over the limit of %d", e.Size, e.Limit)
}

// Is reports whether target is ErrTooBig.
func (e *TooBigError) Is(target error) bool { return target == ErrTooBig }

// Build makes one PDF of parts, in order: each photo on its own A4 page
// (portrait, or landscape when the photo is wider than tall), scaled to fit
// with a small margin at a resolution that stays legible; each PDF's pages
// as they are (merged). When the result would be over opt.MaxBytes, the
// photos are encoded again at lower quality, then lower resolution, down to
// a legibility floor; below it Build returns a *TooBigError (errors.Is
// ErrTooBig). A part that cannot be read gives a *PartError. Build never
// writes to disk, and turns a panic in the libraries it calls into an
// error.
func Build(parts []Part, opt Options) (res Result, err error) {
	if len(parts) == 0 {
		return Result{}, ErrNoParts
	}
	limit := opt.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	b := &builder{parts: parts, limit: limit, cur: -1}
	defer func() {
		if r := recover(); r != nil {
			res, err = Result{}, b.panicked(r)
		}
	}()
	return b.build()
}

// builder holds one Build call's state.
type builder struct {
	parts   []Part
	limit   int64
	photos  []photoInfo // by part index; zero for PDF parts
	nPhotos int         // how many parts are photos
	maxLong int         // longest side of any photo, in pixels
	pdfs    int64       // bytes of the PDF parts
	v20     []bool      // by part index, whether a PDF part is of PDF 2.0
	// cur is the index of the part being read, or -1 while Build works on
	// its own data, for attributing a panic.
	cur int
}

// photoInfo is what a photo's header tells.
type photoInfo struct {
	w, h int
}

func (i photoInfo) landscape() bool { return i.w > i.h }

// pixels returns how many pixels the photo has once fitted within long
// pixels; 0 for a PDF part.
func (i photoInfo) pixels(long int) float64 {
	w, h := fitSize(i.w, i.h, long)
	return float64(w) * float64(h)
}

// step is one rung of the size ladder.
type step struct {
	long    int     // longest side in pixels
	quality int     // JPEG quality
	bpp     float64 // typical bytes per pixel at that quality, relative to 85
}

// ladder returns the rungs tried in order until the PDF fits. The first
// keeps about 180 dpi on A4 at a quality that shows no artefacts; the last
// is the legibility floor: 1240 px over the 282 mm of an A4 page's image
// area is about 110 dpi.
func ladder() []step {
	return []step{
		{2000, 85, 1},
		{2000, 70, 0.65},
		{2000, 55, 0.5},
		{1600, 55, 0.5},
		{1240, 55, 0.5},
	}
}

func (b *builder) build() (Result, error) {
	if err := b.inspect(); err != nil {
		return Result{}, err
	}
	if b.pdfs > b.limit {
		return Result{}, &TooBigError{Size: b.pdfs, Limit: b.limit}
	}
	pages, err := b.readPDFs()
	if err != nil {
		return Result{}, err
	}
	if len(b.parts) == 1 && b.parts[0].Type == rules.PDF {
		return Result{PDF: slices.Clone(b.parts[0].Data), Pages: pages[0]}, nil
	}

	smallest := int64(-1) // the smallest size reached, or a lower bound
	reached := func(n int64) {
		if smallest < 0 || n < smallest {
			smallest = n
		}
	}
	steps := ladder()
	var (
		prev step     // the last step tried
		jpgs [][]byte // its photos, by part index; nil before the first
	)
	for k, s := range steps {
		if jpgs != nil && b.same(prev, s) {
			continue // the same photos as the step before
		}
		if jpgs != nil && k < len(steps)-1 && b.predict(prev, jpgs, s) > b.limit*6/5 {
			continue // clearly over; the floor is always tried
		}
		var fits bool
		if jpgs, fits, err = b.encode(s); err != nil {
			return Result{}, err
		}
		prev = s
		if !fits {
			reached(b.pdfs + total(jpgs))
			continue
		}
		pdf, err := b.assemble(jpgs)
		if err != nil {
			return Result{}, err
		}
		if n := int64(len(pdf)); n > b.limit {
			reached(n)
			if b.nPhotos == 0 {
				break // nothing to make smaller
			}
			continue
		}
		n, err := pageCount(pdf)
		if err != nil {
			return Result{}, err
		}
		return Result{PDF: pdf, Pages: n}, nil
	}
	return Result{}, &TooBigError{Size: smallest, Limit: b.limit}
}

// same reports whether step t encodes every photo as step s does.
func (b *builder) same(s, t step) bool {
	return s.quality == t.quality && b.maxLong <= min(s.long, t.long)
}

// inspect checks every part's type and header, without decoding images or
// parsing PDFs, and records the photos' sizes and the PDFs' bytes.
func (b *builder) inspect() error {
	b.photos = make([]photoInfo, len(b.parts))
	for i, p := range b.parts {
		b.cur = i
		switch p.Type {
		case rules.JPEG, rules.PNG:
			info, err := photoHeader(p)
			if err != nil {
				return &PartError{Index: i, Err: err}
			}
			b.photos[i] = info
			b.nPhotos++
			b.maxLong = max(b.maxLong, info.w, info.h)
		case rules.PDF:
			b.pdfs += int64(len(p.Data))
		default:
			return &PartError{Index: i, Err: fmt.Errorf("unsupported type %q", p.Type)}
		}
	}
	b.cur = -1
	return nil
}

// encode encodes every photo at step s, by part index, decoding each
// afresh. It gives up as soon as the photos encoded and the PDFs are over
// the limit, returning the photos encoded so far and false.
func (b *builder) encode(s step) (jpgs [][]byte, fits bool, err error) {
	jpgs = make([][]byte, len(b.parts))
	n := b.pdfs
	for i, p := range b.parts {
		if p.Type == rules.PDF {
			continue
		}
		b.cur = i
		img, err := decodePhoto(p)
		if err != nil {
			return nil, false, &PartError{Index: i, Err: err}
		}
		if jpgs[i], err = encodeJPEG(fit(img, s.long), s.quality); err != nil {
			return nil, false, &PartError{Index: i, Err: err}
		}
		b.cur = -1
		if n += int64(len(jpgs[i])); n > b.limit {
			return jpgs, false, nil
		}
	}
	return jpgs, true, nil
}

// predict estimates the photos' and PDFs' bytes at step s from the photos
// encoded at step prev (those encoded before giving up, if it did): their
// bytes per pixel, scaled by the steps' typical ratio, times every photo's
// pixels at step s. It returns 0 if nothing was encoded.
func (b *builder) predict(prev step, jpgs [][]byte, s step) int64 {
	var bytes, px, all float64
	for i, info := range b.photos {
		if jpgs[i] != nil {
			bytes += float64(len(jpgs[i]))
			px += info.pixels(prev.long)
		}
		all += info.pixels(s.long)
	}
	if px == 0 {
		return 0
	}
	return b.pdfs + int64(bytes/px*s.bpp/prev.bpp*all)
}

// total returns the bytes of jpgs.
func total(jpgs [][]byte) int64 {
	var n int64
	for _, j := range jpgs {
		n += int64(len(j))
	}
	return n
}

// assemble makes the PDF of the parts, with the photos encoded as jpgs (by
// part index): consecutive photos of the same orientation through one
// ImportImages, then everything merged in order.
func (b *builder) assemble(jpgs [][]byte) ([]byte, error) {
	var (
		segs [][]byte // PDFs to merge, in order
		run  [][]byte // photos of the current run
		land bool     // the current run's orientation
	)
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		seg, err := importPhotos(run, land)
		if err != nil {
			return err
		}
		segs, run = append(segs, seg), nil
		return nil
	}
	for i, p := range b.parts {
		if p.Type == rules.PDF {
			if err := flush(); err != nil {
				return nil, err
			}
			if len(segs) == 0 {
				segs = append(segs, p.Data)
			} else {
				segs = append(segs, relabel(p.Data))
			}
			continue
		}
		if l := b.photos[i].landscape(); l != land {
			if err := flush(); err != nil {
				return nil, err
			}
			land = l
		}
		run = append(run, jpgs[i])
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(segs) == 1 {
		return segs[0], nil
	}
	return b.merge(segs)
}
