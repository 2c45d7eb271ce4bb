package pack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/aimabot/aimabot/rules"
)

// noConfigDir makes pdfcpu's configuration an in-memory one, once.
var noConfigDir sync.Once

// config returns a new pdfcpu configuration; pdfcpu's calls change the one
// they are given, so each call gets its own.
//
// Without api.DisableConfigDir, model.NewDefaultConfiguration creates
// pdfcpu/config.yml, fonts and certificates under os.UserConfigDir() (or
// os.TempDir()) the first time, and exits the process if it cannot. Once it
// is disabled, NewDefaultConfiguration returns a copy of a configuration
// loaded earlier in the process, if any, or one built in memory; both touch
// no disk, and so do pdfcpu's own fallbacks to it.
func config() *model.Configuration {
	noConfigDir.Do(func() {
		// Written only if needed: pdfcpu reads ConfigPath without a lock, so
		// a process that uses pdfcpu elsewhere too should disable the
		// config dir itself, before it starts any goroutine using pdfcpu.
		if model.ConfigPath != "disable" {
			api.DisableConfigDir()
		}
	})
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	c.ValidateLinks = false // would fetch every link's URL
	c.Offline = true
	c.CreateBookmarks = false
	return c
}

// readPDFs checks every PDF part's nesting, reads it with pdfcpu and
// returns their page counts, by part index.
func (b *builder) readPDFs() ([]int, error) {
	pages := make([]int, len(b.parts))
	for i, p := range b.parts {
		if p.Type != rules.PDF {
			continue
		}
		b.cur = i
		if err := checkNesting(p.Data); err != nil {
			return nil, &PartError{Index: i, Err: fmt.Errorf("reading the PDF: %w", err)}
		}
		ctx, err := api.ReadAndValidate(bytes.NewReader(p.Data), config())
		if err != nil {
			return nil, &PartError{Index: i, Err: fmt.Errorf("reading the PDF: %w", err)}
		}
		if ctx.PageCount < 1 {
			return nil, &PartError{Index: i, Err: errors.New("reading the PDF: no pages")}
		}
		pages[i] = ctx.PageCount
		if ctx.XRefTable.Version() == model.V20 {
			if b.v20 == nil {
				b.v20 = make([]bool, len(b.parts))
			}
			b.v20[i] = true
		}
	}
	b.cur = -1
	return pages, nil
}

// importPhotos makes a PDF of JPEG photos, each on its own A4 page, in
// landscape if land, centred and scaled to 95 % of the page on the
// limiting side.
func importPhotos(jpgs [][]byte, land bool) ([]byte, error) {
	imp := pdfcpu.DefaultImportConfig()
	format := "A4P"
	if land {
		format = "A4L"
	}
	dim, size, err := types.ParsePageFormat(format)
	if err != nil {
		return nil, fmt.Errorf("pack: page format %s: %w", format, err)
	}
	imp.PageDim, imp.PageSize, imp.UserDim = dim, size, true
	imp.Pos = types.Center
	imp.Scale = 0.95

	r := make([]io.Reader, len(jpgs))
	n := 0
	for i, j := range jpgs {
		r[i] = bytes.NewReader(j)
		n += len(j)
	}
	var buf bytes.Buffer
	buf.Grow(n + 2048*len(jpgs))
	if err := api.ImportImages(nil, &buf, r, imp, config()); err != nil {
		return nil, fmt.Errorf("pack: placing photos on pages: %w", err)
	}
	return buf.Bytes(), nil
}

// merge joins PDFs in order, without divider pages. If that fails, it
// blames the PDF part that cannot be merged on its own, if any.
func (b *builder) merge(segs [][]byte) (pdf []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			pdf, err = nil, b.blame(fmt.Errorf("panic: %v", r))
		}
	}()
	r := make([]io.ReadSeeker, len(segs))
	n := 0
	for i, s := range segs {
		r[i] = bytes.NewReader(s)
		n += len(s)
	}
	var buf bytes.Buffer
	buf.Grow(n)
	if err := api.MergeRaw(r, &buf, false, config()); err != nil {
		return nil, b.blame(err)
	}
	return buf.Bytes(), nil
}

// blame returns a *PartError for the PDF part that made merging fail with
// cause: a PDF 2.0 that could not be relabelled (see relabel), the only
// PDF part, or the first PDF part that pdfcpu cannot merge on its own. If
// there is none, it returns cause as a merging error.
func (b *builder) blame(cause error) error {
	if errors.Is(cause, pdfcpu.ErrUnsupportedVersion) {
		for i := 1; i < len(b.v20); i++ {
			if b.v20[i] {
				return &PartError{Index: i, Err: fmt.Errorf("merging the PDF: %w", cause)}
			}
		}
	}
	var pdfs []int
	for i, p := range b.parts {
		if p.Type == rules.PDF {
			pdfs = append(pdfs, i)
		}
	}
	if len(pdfs) == 1 { // the photos' pages are Build's own
		return &PartError{Index: pdfs[0], Err: fmt.Errorf("merging the PDF: %w", cause)}
	}
	for _, i := range pdfs {
		if err := mergeAlone(b.parts[i].Data); err != nil {
			return &PartError{Index: i, Err: fmt.Errorf("merging the PDF: %w", err)}
		}
	}
	return fmt.Errorf("pack: merging the parts: %w", cause)
}

// relabel returns pdf with a header of version 1.7 if it is labelled 2.0.
//
// MergeRaw labels its output 1.7 and refuses to append a PDF whose version
// is 2.0 (pdfcpu.ErrUnsupportedVersion); a 2.0 PDF is only accepted first,
// and then it comes out labelled 1.7 too. Relabelling the header, same
// length so no offset moves, lets such a PDF come anywhere. The header is
// looked for in the first 1024 bytes, as readers do. A 2.0 set in the
// catalog (/Version) instead is left alone, and blame reports it.
func relabel(pdf []byte) []byte {
	i := bytes.Index(pdf[:min(len(pdf), 1024)], []byte("%PDF-2.0"))
	if i < 0 {
		return pdf
	}
	out := bytes.Clone(pdf)
	copy(out[i:], "%PDF-1.7")
	return out
}

// mergeAlone runs pdfcpu's merge on one PDF, recovering any panic.
func mergeAlone(pdf []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	r := []io.ReadSeeker{bytes.NewReader(pdf)}
	return api.MergeRaw(r, io.Discard, false, config())
}

// pageCount reads the PDF built back and returns its page count.
func pageCount(pdf []byte) (int, error) {
	n, err := api.PageCount(bytes.NewReader(pdf), config())
	if err != nil {
		return 0, fmt.Errorf("pack: reading back the PDF built: %w", err)
	}
	return n, nil
}

// panicked turns a panic recovered in Build into an error: a *PartError if
// it happened while reading a part.
func (b *builder) panicked(r any) error {
	err := fmt.Errorf("panic: %v", r)
	if b.cur >= 0 {
		return &PartError{Index: b.cur, Err: err}
	}
	return fmt.Errorf("pack: %w", err)
}

// PageCount reads a PDF back, as a reader of the result would, and
// returns its page count; like Build, it touches no disk.
func PageCount(pdf []byte) (int, error) {
	if err := checkNesting(pdf); err != nil {
		return 0, fmt.Errorf("pack: reading a PDF: %w", err)
	}
	return pageCount(pdf)
}
