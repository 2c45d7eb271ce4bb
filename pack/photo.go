package pack

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"

	"github.com/aimabot/aimabot/rules"
)

// maxPixels is the most pixels a photo may declare. A 50-megapixel JPEG
// decodes into about 75 MB (4:2:0) and a PNG into up to 400 MB; phones save
// 12 megapixels by default, up to 50 in their full-resolution modes.
const maxPixels = 50_000_000

// photoHeader reads p's header with the decoder of its declared type, so
// that a PNG sent as a JPEG, or the reverse, is refused.
func photoHeader(p Part) (photoInfo, error) {
	var (
		c   image.Config
		err error
	)
	switch p.Type {
	case rules.JPEG:
		c, err = jpeg.DecodeConfig(bytes.NewReader(p.Data))
	case rules.PNG:
		c, err = png.DecodeConfig(bytes.NewReader(p.Data))
	default:
		err = fmt.Errorf("unsupported type %q", p.Type)
	}
	switch {
	case err != nil:
		return photoInfo{}, fmt.Errorf("reading the %s header: %w", p.Type, err)
	case c.Width <= 0 || c.Height <= 0:
		return photoInfo{}, fmt.Errorf("%s of %dx%d pixels", p.Type, c.Width, c.Height)
	case int64(c.Width)*int64(c.Height) > maxPixels:
		return photoInfo{}, fmt.Errorf("%s of %dx%d pixels, over the %d million allowed", p.Type, c.Width, c.Height, maxPixels/1_000_000)
	}
	return photoInfo{w: c.Width, h: c.Height}, nil
}

// decodePhoto decodes p with the decoder of its declared type.
func decodePhoto(p Part) (image.Image, error) {
	var (
		img image.Image
		err error
	)
	switch p.Type {
	case rules.JPEG:
		img, err = jpeg.Decode(bytes.NewReader(p.Data))
	case rules.PNG:
		img, err = png.Decode(bytes.NewReader(p.Data))
	default:
		err = fmt.Errorf("unsupported type %q", p.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding the %s: %w", p.Type, err)
	}
	return img, nil
}

// encodeJPEG encodes img as a baseline JPEG of the given quality.
func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encoding the photo as JPEG: %w", err)
	}
	return buf.Bytes(), nil
}

// fit returns img with its long side at most long pixels (never enlarged),
// on white if it had transparency, and of a type image/jpeg encodes fast. While img is at least twice the
// target it is halved, so that ApproxBiLinear, which reads the 2x2 source
// pixels around each destination pixel, averages them all instead of
// skipping some.
func fit(img image.Image, long int) image.Image {
	b := img.Bounds()
	w, h := fitSize(b.Dx(), b.Dy(), long)
	if w == b.Dx() && h == b.Dy() {
		switch img.(type) {
		case *image.YCbCr, *image.Gray, *image.RGBA: // image/jpeg's fast paths
			if opaque(img) {
				return img
			}
		}
		return scale(img, w, h) // a plain copy, onto white if transparent
	}
	for hw, hh := b.Dx(), b.Dy(); hw >= 2*w && hh >= 2*h; {
		hw, hh = (hw+1)/2, (hh+1)/2
		img = scale(img, hw, hh)
	}
	return scale(img, w, h)
}

// fitSize returns the size of a w x h image scaled down, keeping its
// aspect ratio, to a long side of at most long pixels.
func fitSize(w, h, long int) (int, int) {
	switch {
	case max(w, h) <= long:
		return w, h
	case w >= h:
		return long, max(1, (h*long+w/2)/w)
	default:
		return max(1, (w*long+h/2)/h), long
	}
}

// scale returns src scaled to w x h pixels, composited onto white.
func scale(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if !opaque(src) {
		draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	}
	// Over onto white; ApproxBiLinear itself turns it into the faster Src
	// when src is opaque, and into a plain copy when the sizes are equal.
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	return dst
}

// opaque reports whether img is known to have no transparency.
func opaque(img image.Image) bool {
	o, ok := img.(interface{ Opaque() bool })
	return ok && o.Opaque()
}
