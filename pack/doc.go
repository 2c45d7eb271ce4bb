// Package pack turns the files an applicant sent for one checklist entry
// (photos and PDFs, in the order they were sent) into the one PDF that the
// AIMA form takes for that entry. It is pure: everything happens in
// memory, nothing is read from or written to disk, and no network is used.
//
// [Build] puts each photo (JPEG or PNG) on its own A4 page, portrait or,
// when the photo is wider than tall, landscape, centred and scaled to 95 %
// of the page on its limiting side. Each PDF part keeps its pages as they
// are. Consecutive photos of the same orientation become one PDF through
// pdfcpu's ImportImages, and all the pieces are joined in order with
// pdfcpu's MergeRaw, without divider pages. A document made of a single
// PDF is returned as it was sent, once pdfcpu has read it and counted its
// pages.
//
// # Photos
//
// Photos are decoded one at a time: only the photo being encoded is held
// decoded, with its scaled copy. Each is scaled down, never up, to a long
// side of at most 2000 px (about 180 dpi on the image area of an A4 page),
// composited onto white if it has transparency, and encoded as a baseline
// JPEG of quality 85, which pdfcpu embeds as it is (a DCTDecode stream,
// with no second encoding). Nothing else is applied: no rotation, cropping
// or colour change. Encoding afresh also drops any metadata, such as the
// GPS position in a phone's EXIF data.
//
// The EXIF orientation tag is not honoured: Telegram re-encodes the photos
// it compresses upright, and reading the tag would need an EXIF parser that
// neither the standard library nor pdfcpu offers. A photo sent "as a file"
// by a phone that records its rotation only in EXIF keeps the orientation
// of its pixels.
//
// Scaling uses golang.org/x/image/draw's ApproxBiLinear, halving first
// while the photo is at least twice the target size, so that each step
// averages neighbouring pixels instead of skipping some. The library's
// kernel scalers (BiLinear, CatmullRom) are not used: they allocate a
// buffer of 32 bytes per destination column and source row, 120 MB for
// one 2560 px Telegram photo.
//
// A photo whose header declares more than 50 megapixels is refused as
// unreadable ([*PartError]) rather than decoded.
//
// # Size
//
// When the PDF is over [Options.MaxBytes] (default [DefaultMaxBytes]), the
// photos are decoded and encoded again, down this ladder, until it fits:
// long side 2000 px at quality 85, 70 and 55, then 1600 px and 1240 px at
// quality 55. 1240 px on A4 is about 110 dpi, the floor at which a scanned
// card or passport page stays legible; if the document does not fit there
// either, Build returns an error matching [ErrTooBig] rather than an
// unreadable PDF. PDF parts count as they are: if they alone are over the
// limit, the error comes before any photo is decoded.
//
// An attempt stops as soon as its photos and PDFs add up to more than the
// limit. Rungs that the last attempt's bytes per pixel, scaled by typical
// JPEG ratios, put more than 20 % over the limit are skipped; the floor is
// always tried.
//
// # Errors
//
// A part that cannot be read (corrupt or truncated image, image not of its
// declared type, broken PDF, PDF that needs a user password, unsupported
// type) gives a [*PartError] naming the part by its index. A PDF with an
// owner password only is read; alone, it is returned as it is, still
// encrypted.
//
// pdfcpu can panic on hostile PDFs: Build recovers and blames the part it
// was reading. Worse, its parser recurses once per level of nested arrays
// and dictionaries, and parses a dictionary that fails a second time,
// relaxed, with all those inside: nested arrays a few million deep
// overflow the stack (a fatal error, which no recover catches), and a
// thousand nested broken dictionaries, 7 KB, would keep it busy forever.
// Build therefore refuses a PDF whose arrays and dictionaries nest more
// than 64 deep, or whose dictionaries nest so much that parsing could
// take more than about two seconds, before pdfcpu reads it. The check
// covers the file and its Flate-compressed object streams; object streams
// encrypted or compressed otherwise are not checked.
//
// # pdfcpu configuration
//
// pdfcpu's default configuration, on first use, creates a config
// directory under os.UserConfigDir (or os.TempDir) with a config.yml,
// fonts and certificates, and exits the process if it cannot. The first
// Build call prevents that with api.DisableConfigDir, a process-wide
// setting, unless it is already set; from then on
// model.NewDefaultConfiguration builds its configuration in memory.
// pdfcpu reads that setting without a lock, so a program that also uses
// pdfcpu from other goroutines should call api.DisableConfigDir itself at
// start-up. Applicants' PDFs are read with relaxed validation, since
// phones and scanners make sloppy PDFs.
package pack
