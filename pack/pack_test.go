package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/aimabot/aimabot/pack"
	"github.com/aimabot/aimabot/rules"
)

// Test photos are small: under -race, image/jpeg encodes and decodes
// about 5 megapixels a second, so one 12-megapixel photo would take the
// whole time budget. The photos that must be big to exercise scaling are
// long and thin instead: their long side is what Build scales by.

// picture draws a w x h page: a light gradient with dark bars like lines
// of text and, if noise > 0, per-channel noise of that amplitude, like a
// phone photo's sensor noise.
func picture(w, h, noise int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s := seed*0x9E3779B97F4A7C15 | 1
	rnd := func() int { // xorshift64, cheap enough under -race
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		return int(s % uint64(2*noise+1))
	}
	for y := range h {
		line := y/12%3 == 0
		for x := range w {
			v := 230 - 60*(x+y)/(w+h)
			if line && x > w/10 && x < w*9/10 && x/9%6 != 0 {
				v = 40
			}
			i := img.PixOffset(x, y)
			for c := range 3 {
				u := v - 15*c
				if noise > 0 {
					u += rnd() - noise
				}
				img.Pix[i+c] = uint8(min(max(u, 0), 255))
			}
			img.Pix[i+3] = 255
		}
	}
	return img
}

// jpegOf encodes img as a JPEG of a phone's quality; encoding to memory
// cannot fail.
func jpegOf(img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// pngOf encodes img as a PNG.
func pngOf(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// childEnv, when set, makes TestBuildWritesNothingToDisk run Build alone
// in a fresh process.
const childEnv = "PACK_TEST_CHILD"

// TestMain disables pdfcpu's config dir for the tests' own use of pdfcpu,
// before any test starts (pdfcpu reads the setting without a lock), but
// not in the fresh process where Build must do it itself.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		api.DisableConfigDir()
	}
	os.Exit(m.Run())
}

// conf returns a pdfcpu configuration for checking Build's output.
func conf(mode int) *model.Configuration {
	c := model.NewDefaultConfiguration()
	c.ValidationMode = mode
	return c
}

// pdfOf makes a PDF with pdfcpu alone, one page per image, each page the
// size of its image in points, so that its pages are told apart from
// Build's A4 ones.
func pdfOf(imgs ...[]byte) ([]byte, error) {
	r := make([]io.Reader, len(imgs))
	for i, img := range imgs {
		r[i] = bytes.NewReader(img)
	}
	imp, err := api.Import("pos:full", types.POINTS)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := api.ImportImages(nil, &b, r, imp, conf(model.ValidationRelaxed)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encrypt encrypts pdf with pdfcpu.
func encrypt(t testing.TB, pdf []byte, userPW, ownerPW string) []byte {
	t.Helper()
	c := conf(model.ValidationRelaxed)
	c.UserPW, c.OwnerPW = userPW, ownerPW
	c.Cmd = model.ENCRYPT
	var b bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Page sizes in points.
var (
	a4P = types.Dim{Width: 595, Height: 842}
	a4L = types.Dim{Width: 842, Height: 595}
	smP = types.Dim{Width: 40, Height: 60} // the pages of fixtures.pdf2
	smL = types.Dim{Width: 60, Height: 40}
)

// fixtures holds the test files, made once.
type fixtures struct {
	portrait, landscape []byte // JPEG photos, 300x400 and 400x300
	png                 []byte // PNG screenshot, 240x320
	transparent         []byte // PNG, transparent but for a black square
	wide                []byte // JPEG, 4010x120: halved, then scaled to 2000 px
	noisy               []byte // JPEG, 2050x150 with heavy noise
	pdf2                []byte // PDF of 2 pages, smP then smL, made by pdfcpu
	nestedObjStm        []byte // pdf2 with arrays nested 70 deep in its object stream
	mergePanic          []byte // testdata/merge-panic.pdf
}

var makeFixtures = sync.OnceValues(func() (*fixtures, error) {
	f := &fixtures{
		portrait:  jpegOf(picture(300, 400, 6, 1)),
		landscape: jpegOf(picture(400, 300, 6, 2)),
		png:       pngOf(picture(240, 320, 0, 3)),
		wide:      jpegOf(picture(4010, 120, 6, 4)),
		noisy:     jpegOf(picture(2050, 150, 60, 5)),
	}
	tr := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 16; y < 48; y++ {
		for x := 16; x < 48; x++ {
			tr.SetNRGBA(x, y, color.NRGBA{A: 255})
		}
	}
	f.transparent = pngOf(tr)
	var err error
	if f.pdf2, err = pdfOf(jpegOf(picture(40, 60, 0, 6)), jpegOf(picture(60, 40, 0, 7))); err != nil {
		return nil, err
	}
	if f.nestedObjStm, err = nestedObjStm(f.pdf2, 70); err != nil {
		return nil, err
	}
	f.mergePanic, err = os.ReadFile("testdata/merge-panic.pdf")
	return f, err
})

// nestedObjStm returns pdf with arrays nested depth deep in its first
// page's dictionary, which pdfcpu writes into a compressed object stream.
func nestedObjStm(pdf []byte, depth int) ([]byte, error) {
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), conf(model.ValidationRelaxed))
	if err != nil {
		return nil, err
	}
	d, _, _, err := ctx.PageDict(1, false)
	if err != nil {
		return nil, err
	}
	var a types.Object = types.Integer(1)
	for range depth {
		a = types.Array{a}
	}
	d.Insert("Nested", a)
	var b bytes.Buffer
	if err := api.WriteContext(ctx, &b); err != nil {
		return nil, err
	}
	if !bytes.Contains(b.Bytes(), []byte("/ObjStm")) || bytes.Contains(b.Bytes(), []byte("[[[[")) {
		return nil, errors.New("nestedObjStm: the nesting is not in a compressed object stream")
	}
	return b.Bytes(), nil
}

// rawPDF returns a one-page PDF written by hand, with extra as the value
// of an entry of the page's dictionary.
func rawPDF(extra string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << >> /Contents 4 0 R /Extra " + extra + " >>",
		"<< /Length 5 >>\nstream\nBT ET\nendstream",
	}
	b := []byte("%PDF-1.4\n")
	var offsets []int
	for i, o := range objs {
		offsets = append(offsets, len(b))
		b = fmt.Appendf(b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := len(b)
	b = fmt.Appendf(b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		b = fmt.Appendf(b, "%010d 00000 n \n", off)
	}
	return fmt.Appendf(b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
}

// fixturesFor returns the test files.
func fixturesFor(t testing.TB) *fixtures {
	t.Helper()
	f, err := makeFixtures()
	if err != nil {
		t.Fatalf("making the test files: %v", err)
	}
	return f
}

// checkPDF checks that pdf is valid, strictly and relaxed, and has pages
// of the sizes want, in order.
func checkPDF(t *testing.T, name string, pdf []byte, want []types.Dim) {
	t.Helper()
	for _, mode := range []int{model.ValidationStrict, model.ValidationRelaxed} {
		if err := api.Validate(bytes.NewReader(pdf), conf(mode)); err != nil {
			t.Errorf("%s: validate (mode %d): %v", name, mode, err)
		}
	}
	dims, err := api.PageDims(bytes.NewReader(pdf), conf(model.ValidationRelaxed))
	if err != nil {
		t.Fatalf("%s: PageDims: %v", name, err)
	}
	if len(dims) != len(want) {
		t.Fatalf("%s: page sizes %v; want %v", name, dims, want)
	}
	for i := range want {
		if math.Abs(dims[i].Width-want[i].Width) > 1 || math.Abs(dims[i].Height-want[i].Height) > 1 {
			t.Errorf("%s: page sizes %v; want %v", name, dims, want)
			break
		}
	}
}

// images returns the images embedded in pdf, page by page.
func images(t *testing.T, pdf []byte) []model.Image {
	t.Helper()
	pages, err := api.ExtractImagesRaw(bytes.NewReader(pdf), nil, conf(model.ValidationRelaxed))
	if err != nil {
		t.Fatalf("ExtractImagesRaw: %v", err)
	}
	var imgs []model.Image
	for _, m := range pages {
		for _, img := range m {
			imgs = append(imgs, img)
		}
	}
	return imgs
}

func TestBuild(t *testing.T) {
	t.Parallel()
	f := fixturesFor(t)
	ownerOnly := encrypt(t, f.pdf2, "", "owner")
	v20 := append([]byte("%PDF-2.0"), f.pdf2[len("%PDF-1.7"):]...)
	tests := []struct {
		name  string
		parts []pack.Part
		want  []types.Dim // page sizes, in order
	}{
		{
			name:  "two photos",
			parts: []pack.Part{{Type: rules.JPEG, Data: f.portrait}, {Type: rules.PNG, Data: f.png}},
			want:  []types.Dim{a4P, a4P},
		},
		{
			name:  "landscape photo",
			parts: []pack.Part{{Type: rules.JPEG, Data: f.landscape}},
			want:  []types.Dim{a4L},
		},
		{
			name: "photo, PDF of 2 pages, landscape photo",
			parts: []pack.Part{
				{Type: rules.JPEG, Data: f.portrait},
				{Type: rules.PDF, Data: f.pdf2},
				{Type: rules.JPEG, Data: f.landscape},
			},
			want: []types.Dim{a4P, smP, smL, a4L},
		},
		{
			name: "photos of both orientations in a row",
			parts: []pack.Part{
				{Type: rules.JPEG, Data: f.landscape},
				{Type: rules.JPEG, Data: f.portrait},
				{Type: rules.JPEG, Data: f.portrait},
				{Type: rules.JPEG, Data: f.landscape},
			},
			want: []types.Dim{a4L, a4P, a4P, a4L},
		},
		{
			name:  "two PDFs",
			parts: []pack.Part{{Type: rules.PDF, Data: f.pdf2}, {Type: rules.PDF, Data: f.pdf2}},
			want:  []types.Dim{smP, smL, smP, smL},
		},
		{
			name:  "PDF with an owner password only",
			parts: []pack.Part{{Type: rules.JPEG, Data: f.portrait}, {Type: rules.PDF, Data: ownerOnly}},
			want:  []types.Dim{a4P, smP, smL},
		},
		{
			name:  "hand-written PDF nesting 10 deep",
			parts: []pack.Part{{Type: rules.PDF, Data: rawPDF(strings.Repeat("[<< /A ", 10) + "1" + strings.Repeat(">>]", 10))}, {Type: rules.JPEG, Data: f.portrait}},
			want:  []types.Dim{{Width: 200, Height: 100}, a4P},
		},
		{
			name:  "PDF 2.0 after a photo",
			parts: []pack.Part{{Type: rules.JPEG, Data: f.portrait}, {Type: rules.PDF, Data: v20}},
			want:  []types.Dim{a4P, smP, smL},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pack.Build(tt.parts, pack.Options{})
			if err != nil {
				t.Fatalf("Build(%s) error: %v", tt.name, err)
			}
			if got.Pages != len(tt.want) {
				t.Errorf("Build(%s).Pages = %d; want %d", tt.name, got.Pages, len(tt.want))
			}
			if n := len(got.PDF); n > pack.DefaultMaxBytes {
				t.Errorf("Build(%s) = %d bytes; want at most %d", tt.name, n, pack.DefaultMaxBytes)
			}
			checkPDF(t, "Build("+tt.name+")", got.PDF, tt.want)
		})
	}
}

func TestBuildSinglePDFAsIs(t *testing.T) {
	t.Parallel()
	f := fixturesFor(t)
	for _, tt := range []struct {
		name string
		pdf  []byte
	}{
		{"plain", f.pdf2},
		{"owner password only", encrypt(t, f.pdf2, "", "owner")},
	} {
		got, err := pack.Build([]pack.Part{{Type: rules.PDF, Data: tt.pdf}}, pack.Options{})
		if err != nil {
			t.Fatalf("Build(%s PDF) error: %v", tt.name, err)
		}
		if !bytes.Equal(got.PDF, tt.pdf) || got.Pages != 2 {
			t.Errorf("Build(%s PDF) = %d bytes, %d pages; want the same %d bytes, 2 pages", tt.name, len(got.PDF), got.Pages, len(tt.pdf))
		}
	}
}

// TestBuildPhotoPixels checks what becomes of the photos' pixels: scaled
// down to 2000 px, never up, embedded as JPEG, transparency on white.
func TestBuildPhotoPixels(t *testing.T) {
	t.Parallel()
	f := fixturesFor(t)
	tests := []struct {
		name string
		part pack.Part
		page types.Dim
		w, h int         // the embedded image's size
		at   image.Point // a pixel of the embedded image, and its gray level
		gray uint8
	}{
		{"small photo kept at its size", pack.Part{Type: rules.JPEG, Data: f.portrait}, a4P, 300, 400, image.Pt(150, 5), 0},
		{"wide photo scaled to 2000 px", pack.Part{Type: rules.JPEG, Data: f.wide}, a4L, 2000, 60, image.Pt(985, 2), 0},
		{"transparent PNG on white", pack.Part{Type: rules.PNG, Data: f.transparent}, a4P, 64, 64, image.Pt(4, 4), 255},
		{"its opaque square stays black", pack.Part{Type: rules.PNG, Data: f.transparent}, a4P, 64, 64, image.Pt(32, 32), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pack.Build([]pack.Part{tt.part}, pack.Options{})
			if err != nil {
				t.Fatalf("Build(%s) error: %v", tt.name, err)
			}
			checkPDF(t, "Build("+tt.name+")", got.PDF, []types.Dim{tt.page})
			imgs := images(t, got.PDF)
			if len(imgs) != 1 {
				t.Fatalf("Build(%s) embeds %d images; want 1", tt.name, len(imgs))
			}
			im := imgs[0]
			dec, err := jpeg.Decode(im)
			if err != nil {
				t.Fatalf("Build(%s): embedded %s image: %v", tt.name, im.FileType, err)
			}
			if w, h := dec.Bounds().Dx(), dec.Bounds().Dy(); w != tt.w || h != tt.h || im.FileType != "jpg" {
				t.Errorf("Build(%s) embeds a %dx%d %s; want a %dx%d jpg", tt.name, w, h, im.FileType, tt.w, tt.h)
			}
			if tt.at.In(dec.Bounds()) {
				g := color.GrayModel.Convert(dec.At(tt.at.X, tt.at.Y)).(color.Gray).Y
				if tt.gray == 255 && g < 240 || tt.gray == 0 && g > 110 {
					t.Errorf("Build(%s): pixel %v = gray %d; want about %d", tt.name, tt.at, g, tt.gray)
				}
			}
		})
	}
}

func TestBuildSize(t *testing.T) {
	t.Parallel()
	f := fixturesFor(t)
	noisy := []pack.Part{{Type: rules.JPEG, Data: f.noisy}}

	// The noisy photo makes a PDF of about 130 KB at 2000 px and quality
	// 85, 84 KB at 70, 64 KB at 55, 42 KB at 1600 px and 28 KB at 1240;
	// with the small photo and the PDF, 161, 102, 79, 56 and 42 KB.
	fits := []struct {
		name  string
		parts []pack.Part
		max   int64
		want  []types.Dim
	}{
		{"noisy photo", noisy, 55 << 10, []types.Dim{a4L}},
		{"photo, PDF, noisy photo", []pack.Part{
			{Type: rules.JPEG, Data: f.portrait},
			{Type: rules.PDF, Data: f.pdf2},
			noisy[0],
		}, 70 << 10, []types.Dim{a4P, smP, smL, a4L}},
	}
	for _, tt := range fits {
		t.Run(tt.name+" recompressed to fit", func(t *testing.T) {
			t.Parallel()
			got, err := pack.Build(tt.parts, pack.Options{MaxBytes: tt.max})
			if err != nil {
				t.Fatalf("Build(%s, %d bytes) error: %v", tt.name, tt.max, err)
			}
			if n := int64(len(got.PDF)); n > tt.max {
				t.Errorf("Build(%s, %d bytes) = %d bytes; want at most %d", tt.name, tt.max, n, tt.max)
			}
			checkPDF(t, "Build("+tt.name+")", got.PDF, tt.want)
			widest := 0 // the noisy photo's, at the 1600 px step
			for _, img := range images(t, got.PDF) {
				c, err := jpeg.DecodeConfig(img)
				if err != nil {
					t.Fatalf("Build(%s, %d bytes): embedded image: %v", tt.name, tt.max, err)
				}
				widest = max(widest, c.Width)
			}
			if widest != 1600 {
				t.Errorf("Build(%s, %d bytes) embeds a noisy photo %d px wide; want 1600 px", tt.name, tt.max, widest)
			}
		})
	}

	tooBig := []struct {
		name  string
		parts []pack.Part
		max   int64
	}{
		{"noisy photo under 20 KB", noisy, 20 << 10},
		{"PDF over the limit", []pack.Part{{Type: rules.PDF, Data: f.pdf2}}, int64(len(f.pdf2)) - 1},
		{"PDFs over the limit together", []pack.Part{{Type: rules.PDF, Data: f.pdf2}, {Type: rules.JPEG, Data: f.portrait}, {Type: rules.PDF, Data: f.pdf2}}, int64(len(f.pdf2)) * 3 / 2},
	}
	for _, tt := range tooBig {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pack.Build(tt.parts, pack.Options{MaxBytes: tt.max})
			var tb *pack.TooBigError
			if !errors.Is(err, pack.ErrTooBig) || !errors.As(err, &tb) {
				t.Fatalf("Build(%s) = %d bytes, %v; want ErrTooBig", tt.name, len(got.PDF), err)
			}
			if tb.Limit != tt.max || tb.Size <= tt.max {
				t.Errorf("Build(%s) = %+v; want Limit %d and a Size over it", tt.name, *tb, tt.max)
			}
		})
	}
}

// pngOfSize returns a PNG header declaring w x h pixels and no pixels.
func pngOfSize(w, h uint32) []byte {
	ihdr := make([]byte, 4+13)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 6 // 8-bit RGBA
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	f := fixturesFor(t)
	photo := pack.Part{Type: rules.JPEG, Data: f.portrait}
	pdf := pack.Part{Type: rules.PDF, Data: f.pdf2}
	garbage := make([]byte, 3000)
	for i := range garbage {
		garbage[i] = byte(i * 7919 >> 3)
	}
	tests := []struct {
		name  string
		parts []pack.Part
		index int // of the part to blame
	}{
		{"truncated JPEG", []pack.Part{photo, {Type: rules.JPEG, Data: f.portrait[:len(f.portrait)/2]}}, 1},
		{"random bytes declared PDF", []pack.Part{photo, pdf, {Type: rules.PDF, Data: garbage}}, 2},
		{"PDF header then garbage", []pack.Part{{Type: rules.PDF, Data: append([]byte("%PDF-1.4\n"), garbage...)}}, 0},
		{"JPEG declared PNG", []pack.Part{{Type: rules.PNG, Data: f.portrait}, photo}, 0},
		{"PNG declared JPEG", []pack.Part{photo, {Type: rules.JPEG, Data: f.png}}, 1},
		{"empty JPEG", []pack.Part{{Type: rules.JPEG}}, 0},
		{"empty PDF", []pack.Part{photo, {Type: rules.PDF}}, 1},
		{"unsupported type", []pack.Part{photo, {Type: "image/heic", Data: f.portrait}}, 1},
		{"PDF with a user password", []pack.Part{photo, {Type: rules.PDF, Data: encrypt(t, f.pdf2, "user", "owner")}}, 1},
		{"PNG of 100 megapixels", []pack.Part{photo, photo, {Type: rules.PNG, Data: pngOfSize(10000, 10000)}}, 2},
		// pdfcpu overflows the stack (a fatal error) on arrays nested a
		// few million deep, and retries broken dictionaries exponentially:
		// Build refuses both long before.
		{"arrays nested 70 deep", []pack.Part{photo, {Type: rules.PDF, Data: rawPDF(strings.Repeat("[", 70) + strings.Repeat("]", 70))}}, 1},
		{"broken dictionaries nested 1000 deep", []pack.Part{photo, {Type: rules.PDF, Data: rawPDF(strings.Repeat("<</A ", 1000) + strings.Repeat(">>", 1000))}}, 1},
		{"arrays nested 70 deep in an object stream", []pack.Part{{Type: rules.PDF, Data: f.nestedObjStm}, photo}, 0},
		// Found by FuzzBuild: pdfcpu v0.11.1 dereferences nil optimizing
		// the merge (optimizeXObjectResourcesDict).
		{"PDF that makes pdfcpu panic while merging", []pack.Part{photo, {Type: rules.PDF, Data: f.mergePanic}}, 1},
		{"second of two PDFs makes pdfcpu panic", []pack.Part{photo, pdf, {Type: rules.PDF, Data: f.mergePanic}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pack.Build(tt.parts, pack.Options{})
			var pe *pack.PartError
			if !errors.As(err, &pe) || pe.Index != tt.index || pe.Err == nil {
				t.Fatalf("Build(%s) = %d bytes, %v; want a *PartError for part %d", tt.name, len(got.PDF), err, tt.index)
			}
			if !errors.Is(err, pe.Err) {
				t.Errorf("Build(%s) = %v; want it to wrap %v", tt.name, err, pe.Err)
			}
			if strings.Contains(tt.name, "panic") && !strings.Contains(err.Error(), "panic") {
				t.Errorf("Build(%s) = %v; want the panic recovered", tt.name, err)
			}
		})
	}

	for _, parts := range [][]pack.Part{nil, {}} {
		if got, err := pack.Build(parts, pack.Options{}); !errors.Is(err, pack.ErrNoParts) {
			t.Errorf("Build(%#v) = %d bytes, %v; want ErrNoParts", parts, len(got.PDF), err)
		}
	}
}

// diskParts returns a photo, a PDF made by Build and a photo, made
// without the tests' own pdfcpu calls, which disable its config dir.
func diskParts(t *testing.T) []pack.Part {
	t.Helper()
	photo := jpegOf(picture(60, 80, 4, 10))
	pdf, err := pack.Build([]pack.Part{{Type: rules.JPEG, Data: photo}, {Type: rules.PNG, Data: pngOf(picture(80, 60, 0, 11))}}, pack.Options{})
	if err != nil {
		t.Fatalf("Build(two photos) error: %v", err)
	}
	return []pack.Part{
		{Type: rules.JPEG, Data: photo},
		{Type: rules.PDF, Data: pdf.PDF},
		{Type: rules.JPEG, Data: photo},
	}
}

// emptyDirs returns a fresh home, config and temp dir, by the variable
// that names them.
func emptyDirs(t *testing.T) map[string]string {
	dirs := map[string]string{}
	for _, env := range []string{"HOME", "XDG_CONFIG_HOME", "TMPDIR"} {
		dirs[env] = t.TempDir()
	}
	return dirs
}

// checkEmpty checks that dirs are still empty.
func checkEmpty(t *testing.T, dirs map[string]string) {
	t.Helper()
	for env, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 0 {
			t.Errorf("Build wrote %s in $%s; want nothing", entries[0].Name(), env)
		}
	}
}

// TestBuildWritesNothingToDisk runs Build with fresh home, config and temp
// dirs and checks that they stay empty. In this process, the tests' own
// pdfcpu calls have already disabled pdfcpu's config dir; see
// TestBuildWritesNothingToDiskFresh for a process where only Build can.
func TestBuildWritesNothingToDisk(t *testing.T) {
	if os.Getenv(childEnv) != "" { // Build alone, in a fresh process
		if _, err := pack.Build(diskParts(t), pack.Options{}); err != nil {
			t.Fatalf("Build(photo, PDF, photo) error: %v", err)
		}
		return
	}
	dirs := emptyDirs(t)
	for env, dir := range dirs {
		t.Setenv(env, dir)
	}
	if _, err := pack.Build(diskParts(t), pack.Options{}); err != nil {
		t.Fatalf("Build(photo, PDF, photo) error: %v", err)
	}
	checkEmpty(t, dirs)
}

// TestBuildWritesNothingToDiskFresh runs TestBuildWritesNothingToDisk's
// Build in a fresh process, with fresh home, config and temp dirs, where
// nothing but Build has touched pdfcpu.
func TestBuildWritesNothingToDiskFresh(t *testing.T) {
	t.Parallel()
	dirs := emptyDirs(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildWritesNothingToDisk$", "-test.count=1")
	// GORACE: no second of sleep at exit under -race.
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	for env, dir := range dirs {
		cmd.Env = append(cmd.Env, env+"="+dir)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Build in a fresh process: %v\n%s", err, out)
	}
	checkEmpty(t, dirs)
}

func FuzzBuild(f *testing.F) {
	fx := fixturesFor(f)
	small := jpegOf(picture(24, 32, 4, 8))
	f.Add(small, uint8(0))
	f.Add(small[:len(small)/2], uint8(0))
	f.Add(pngOf(picture(16, 12, 0, 9)), uint8(1))
	f.Add(fx.transparent, uint8(1+4))
	f.Add(fx.pdf2, uint8(2))
	f.Add(fx.pdf2, uint8(2+4))
	f.Add(fx.pdf2[:len(fx.pdf2)*2/3], uint8(2+4))
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"), uint8(2+4))
	f.Add([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), uint8(2))
	f.Add(rawPDF("[<< /A (x) /B [1 2 3] >>]"), uint8(2+4))
	f.Add(encrypt(f, fx.pdf2, "", "owner"), uint8(2+4))
	f.Add(fx.mergePanic, uint8(2+4))
	kinds := []rules.FileType{rules.JPEG, rules.PNG, rules.PDF, "text/plain"}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		parts := []pack.Part{{Type: kinds[kind%4], Data: data}}
		if kind&4 != 0 { // after a photo, to go through the merge
			parts = append([]pack.Part{{Type: rules.JPEG, Data: small}}, parts...)
		}
		got, err := pack.Build(parts, pack.Options{MaxBytes: 1 << 20})
		var pe *pack.PartError
		switch {
		case err == nil:
			if got.Pages < 1 || len(got.PDF) == 0 {
				t.Errorf("Build(%d bytes) = %d bytes, %d pages; want a PDF", len(data), len(got.PDF), got.Pages)
			}
		case errors.As(err, &pe):
			if pe.Index != len(parts)-1 {
				t.Errorf("Build(%d bytes) = %v; want a *PartError for part %d", len(data), err, len(parts)-1)
			}
		case !errors.Is(err, pack.ErrTooBig):
			t.Errorf("Build(%d bytes) = %v; want a *PartError or ErrTooBig", len(data), err)
		}
	})
}

// heapSampler samples the heap's live objects every millisecond, for the
// peak above a baseline.
type heapSampler struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

const heapObjects = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{base: heapNow(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				if v := heapNow(); v > h.peak.Load() {
					h.peak.Store(v)
				}
			}
		}
	}()
	return h
}

// peakMB stops the sampler and returns the peak above the baseline, in MB.
func (h *heapSampler) peakMB() float64 {
	close(h.stop)
	<-h.done
	return float64(h.peak.Load()-min(h.base, h.peak.Load())) / 1e6
}

// BenchmarkPackage10Photos builds one PDF, with the default options, of
// ten photos the size of Telegram's largest (1920x2560, about 1 MB each).
func BenchmarkPackage10Photos(b *testing.B) {
	parts := make([]pack.Part, 10)
	var in int
	for i := range parts {
		parts[i] = pack.Part{Type: rules.JPEG, Data: jpegOf(picture(1920, 2560, 6, uint64(i)))}
		in += len(parts[i].Data)
	}
	b.Logf("input: 10 photos, %.1f MB", float64(in)/1e6)
	var res pack.Result
	b.ReportAllocs()
	h := startHeapSampler()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if res, err = pack.Build(parts, pack.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(h.peakMB(), "peak-heap-MB")
	b.ReportMetric(float64(res.Pages), "pages")
	b.ReportMetric(float64(len(res.PDF))/1024, "pdf-KB")
}
