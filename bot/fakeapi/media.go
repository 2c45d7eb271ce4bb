package fakeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"  // photo dimensions
	_ "image/jpeg" // photo dimensions
	_ "image/png"  // photo dimensions
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// MaxDownload is the largest file getFile serves (20 MB), like Telegram.
const MaxDownload = 20 << 20

// File kinds.
const (
	fileKindPhoto    = "photo"
	fileKindDocument = "document"
	fileKindSticker  = "sticker"
	fileKindVoice    = "voice"
	fileKindVideo    = "video"
	fileKindAudio    = "audio"
)

func filePrefix(kind string) (id, dir, ext string) {
	switch kind {
	case fileKindPhoto:
		return "AgACAgQAAxkBAAI", "photos", ".jpg"
	case fileKindSticker:
		return "CAACAgIAAxkBAAI", "stickers", ".webp"
	case fileKindVoice:
		return "AwACAgQAAxkBAAI", "voice", ".oga"
	case fileKindVideo:
		return "BAACAgQAAxkBAAI", "videos", ".mp4"
	case fileKindAudio:
		return "CQACAgQAAxkBAAI", "music", ".mp3"
	}
	return "BQACAgQAAxkBAAI", "documents", ""
}

// addFileLocked registers a file; data may be nil for files whose bytes the
// fake does not have.
func (s *Server) addFileLocked(kind, name string, data []byte, size int64) *file {
	s.fileSeq++
	n := s.fileSeq
	prefix, dir, ext := filePrefix(kind)
	if kind == fileKindDocument {
		ext = strings.ToLower(path.Ext(name))
	}
	f := &file{
		id:     fmt.Sprintf("%s%08d", prefix, n),
		unique: fmt.Sprintf("AQAD%08d", n),
		size:   size,
		path:   fmt.Sprintf("%s/file_%d%s", dir, n, ext),
		data:   data,
		kind:   kind,
		name:   name,
	}
	s.files[f.id] = f
	s.filePaths[f.path] = f
	return f
}

// addPhotoLocked registers a photo in three sizes, the largest holding the
// bytes; the smaller ones have made-up sizes and serve the same bytes.
func (s *Server) addPhotoLocked(data []byte) *file {
	w, h := 1280, 960
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width > 0 && cfg.Height > 0 {
		w, h = cfg.Width, cfg.Height
	}
	size := int64(len(data))
	long := max(w, h)
	scale := func(side int) (int, int) {
		side = max(1, side)
		if w >= h {
			return side, max(1, h*side/w)
		}
		return max(1, w*side/h), side
	}
	sw, sh := scale(min(90, long/4))
	mw, mh := scale(min(320, long/2))
	small := s.addFileLocked(fileKindPhoto, "", data, max(1, size/16))
	medium := s.addFileLocked(fileKindPhoto, "", data, max(1, size/4))
	large := s.addFileLocked(fileKindPhoto, "", data, size)
	sizes := []models.PhotoSize{
		{FileID: small.id, FileUniqueID: small.unique, Width: sw, Height: sh, FileSize: int(small.size)},
		{FileID: medium.id, FileUniqueID: medium.unique, Width: mw, Height: mh, FileSize: int(medium.size)},
		{FileID: large.id, FileUniqueID: large.unique, Width: w, Height: h, FileSize: int(large.size)},
	}
	for _, f := range []*file{small, medium, large} {
		f.photo = sizes
	}
	large.width, large.height = w, h
	return large
}

func (s *Server) mGetFile(r *request) (any, *apiError) {
	f := s.files[r.str("file_id")]
	if f == nil {
		return nil, badRequest("invalid file_id")
	}
	if f.size > MaxDownload {
		return nil, badRequest("file is too big")
	}
	return models.File{FileID: f.id, FileUniqueID: f.unique, FileSize: f.size, FilePath: f.path}, nil
}

// serveFile answers GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, p, ok := strings.Cut(rest, "/")
	if !ok || token != s.token {
		writeErr(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	if f := s.takeFault("file", 0); f != nil {
		if s.applyFault(w, r, &request{method: "file", params: map[string]string{"file_path": p}}, f) {
			return
		}
	}
	s.mu.Lock()
	f := s.filePaths[p]
	var data []byte
	found := f != nil && f.data != nil && f.size <= MaxDownload
	if found {
		data = f.data
	}
	status := http.StatusOK
	if !found {
		status = http.StatusNotFound
	}
	s.recordLocked("file", &request{params: map[string]string{"file_path": p}}, status)
	s.mu.Unlock()
	if !found {
		writeErr(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	ctype := mime.TypeByExtension(path.Ext(p))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// inputFile resolves an InputFile: an uploaded part, "attach://<part>", a
// URL, or the file_id of a file of the same kind.
func (s *Server) inputFile(r *request, value string, up *upload, kind string) (*file, *apiError) {
	if up == nil {
		if name, ok := strings.CutPrefix(value, "attach://"); ok {
			up = r.files[name]
			if up == nil {
				return nil, badRequest("can't find attached file \"%s\"", name)
			}
		}
	}
	if up != nil {
		if len(up.data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		if kind == fileKindPhoto {
			cfg, _, err := image.DecodeConfig(bytes.NewReader(up.data))
			if err != nil {
				return nil, badRequest("IMAGE_PROCESS_FAILED")
			}
			if cfg.Width+cfg.Height > 10000 || cfg.Width > 20*cfg.Height || cfg.Height > 20*cfg.Width {
				return nil, badRequest("PHOTO_INVALID_DIMENSIONS")
			}
			return s.addPhotoLocked(up.data), nil
		}
		f := s.addFileLocked(kind, up.name, up.data, int64(len(up.data)))
		f.mime = mime.TypeByExtension(strings.ToLower(path.Ext(up.name)))
		if f.mime == "" {
			f.mime = http.DetectContentType(up.data)
			if i := strings.IndexByte(f.mime, ';'); i >= 0 {
				f.mime = f.mime[:i]
			}
		}
		return f, nil
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, badRequest("there is no %s in the request", kind)
	}
	if strings.HasPrefix(value, "http://") || strings.HasPrefix(value, "https://") {
		name := path.Base(value)
		if kind == fileKindPhoto {
			f := s.addPhotoLocked(nil)
			return f, nil
		}
		f := s.addFileLocked(kind, name, nil, 0)
		f.mime = mime.TypeByExtension(path.Ext(name))
		return f, nil
	}
	f := s.files[value]
	if f == nil {
		return nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if f.kind != kind {
		return nil, badRequest("type of file mismatch")
	}
	return f, nil
}

// attachMedia puts a file into a message's wire form.
func attachMedia(m *message, f *file) {
	m.media, m.fileID = true, f.id
	switch f.kind {
	case fileKindPhoto:
		sizes := f.photo
		if sizes == nil {
			sizes = []models.PhotoSize{{FileID: f.id, FileUniqueID: f.unique, Width: max(f.width, 1), Height: max(f.height, 1), FileSize: int(f.size)}}
		}
		m.w.Photo = append([]models.PhotoSize(nil), sizes...)
		m.fileID = sizes[len(sizes)-1].FileID
	case fileKindVideo:
		m.w.Video = &models.Video{FileID: f.id, FileUniqueID: f.unique, Width: 640, Height: 360, Duration: 1, FileName: f.name, MimeType: f.mime, FileSize: f.size}
	case fileKindAudio:
		m.w.Audio = &models.Audio{FileID: f.id, FileUniqueID: f.unique, Duration: 1, FileName: f.name, MimeType: f.mime, FileSize: f.size}
	case fileKindSticker:
		m.w.Sticker = &models.Sticker{FileID: f.id, FileUniqueID: f.unique, Type: "regular", Width: 512, Height: 512, Emoji: "👍", FileSize: int(f.size)}
	case fileKindVoice:
		m.w.Voice = &models.Voice{FileID: f.id, FileUniqueID: f.unique, Duration: 2, MimeType: "audio/ogg", FileSize: f.size}
	default:
		m.w.Document = &models.Document{FileID: f.id, FileUniqueID: f.unique, FileName: f.name, MimeType: f.mime, FileSize: f.size}
	}
}

func (s *Server) sendFile(r *request, field, kind, msgKind string) (any, *apiError) {
	o, aerr := s.readOutgoing(r, captionParam)
	if aerr != nil {
		return nil, aerr
	}
	if r.files[field] == nil && strings.TrimSpace(r.str(field)) == "" {
		return nil, badRequest("there is no %s in the request", field)
	}
	f, aerr := s.inputFile(r, r.str(field), r.files[field], kind)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.limiter.take(o.c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	m := s.newBotMessageLocked(o.c, o.thread, msgKind)
	m.w.HasProtectedContent = r.bool("protect_content")
	attachMedia(m, f)
	m.w.Caption, m.w.CaptionEntities = o.text, o.ents
	m.setKeyboard(o.kb)
	s.setReply(m, o.to)
	return m.json(), nil
}

func (s *Server) mSendPhoto(r *request) (any, *apiError) {
	return s.sendFile(r, "photo", fileKindPhoto, KindPhoto)
}

func (s *Server) mSendDocument(r *request) (any, *apiError) {
	return s.sendFile(r, "document", fileKindDocument, KindDocument)
}

type inputMedia struct {
	Type      string `json:"type"`
	Media     string `json:"media"`
	Caption   string `json:"caption"`
	ParseMode string `json:"parse_mode"`
}

func (s *Server) mSendMediaGroup(r *request) (any, *apiError) {
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, aerr
	}
	var items []inputMedia
	if err := json.Unmarshal([]byte(r.str("media")), &items); err != nil {
		return nil, badRequest("can't parse media JSON object")
	}
	if len(items) < 2 || len(items) > 10 {
		return nil, badRequest("media group must contain 2-10 items")
	}
	kinds := map[string]bool{}
	type prepared struct {
		kind    string
		caption string
		ents    []models.MessageEntity
		item    inputMedia
	}
	var ps []prepared
	for _, it := range items {
		kind := it.Type
		switch kind {
		case fileKindPhoto, fileKindVideo, fileKindDocument, fileKindAudio:
		default:
			return nil, badRequest("unsupported media type \"%s\" in the media group", it.Type)
		}
		kinds[kind] = true
		cr := &request{params: map[string]string{"caption": it.Caption, "parse_mode": it.ParseMode}}
		caption, ents, aerr := captionParam(cr)
		if aerr != nil {
			return nil, aerr
		}
		if strings.TrimSpace(it.Media) == "" {
			return nil, badRequest("there is no media in the request")
		}
		ps = append(ps, prepared{kind: kind, caption: caption, ents: ents, item: it})
	}
	if len(kinds) > 1 {
		// TDLib keeps documents and audio files apart from other media
		// and names the kind it meets; the first such item here.
		for _, p := range ps {
			if p.kind == fileKindDocument || p.kind == fileKindAudio {
				return nil, badRequest("%s can't be mixed with other media types", p.kind)
			}
		}
	}
	to, aerr := s.replyTo(r, c)
	if aerr != nil {
		return nil, aerr
	}
	files := make([]*file, len(ps))
	for i, p := range ps {
		f, aerr := s.inputFile(r, p.item.Media, nil, p.kind)
		if aerr != nil {
			return nil, aerr
		}
		files[i] = f
	}
	if aerr := s.limiter.take(c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	group := s.newMediaGroupLocked()
	out := make([]json.RawMessage, 0, len(ps))
	for i, p := range ps {
		m := s.newBotMessageLocked(c, thread, KindMediaItem)
		m.w.HasProtectedContent = r.bool("protect_content")
		attachMedia(m, files[i])
		m.w.MediaGroupID = group
		m.w.Caption, m.w.CaptionEntities = p.caption, p.ents
		s.setReply(m, to)
		out = append(out, m.json())
	}
	return out, nil
}
