package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

func TestCRC16(t *testing.T) {
	// The check value of CRC-16/XMODEM, and slots Redis's CLUSTER KEYSLOT gives.
	for _, c := range []struct {
		in   string
		want uint16
	}{{"123456789", 0x31C3}, {"", 0}} {
		if got := crc16(c.in); got != c.want {
			t.Errorf("crc16(%q) = %#x; want %#x", c.in, got, c.want)
		}
	}
	for key, slot := range map[string]uint16{"foo": 12182, "bar": 5061} {
		if got := crc16(key) % redisSlots; got != slot {
			t.Errorf("slot of %q = %d; want %d", key, got, slot)
		}
	}
}

func TestSlotTags(t *testing.T) {
	tags := slotTags()
	for slot, n := range tags {
		tag := slotTag(n)
		if got := crc16(tag) % redisSlots; int(got) != slot {
			t.Fatalf("slot tag %q of slot %d hashes to slot %d", tag, slot, got)
		}
		if strings.Trim(tag, "abcdefghijklmnop") != "" {
			t.Fatalf("slot tag %q of slot %d has more than the letters a..p", tag, slot)
		}
	}
	for _, chat := range []int64{0, 1, 42, -1001234567890, 7104285913, 1<<53 - 1} {
		tag := "chat:" + strconv.FormatInt(chat, 10)
		if got, want := crc16(sameSlotTag(tag))%redisSlots, crc16(tag)%redisSlots; got != want {
			t.Errorf("sameSlotTag(%q) = %q in slot %d; want slot %d", tag, sameSlotTag(tag), got, want)
		}
	}
}

// The logs' name of a chat is the one the bot always wrote: the first 6
// bytes of HMAC-SHA256 keyed "aimabot-log:"+token of the decimal id; a
// stored name starts with it.
func TestChatHash(t *testing.T) {
	h := NewChatHash("123:token")
	m := hmac.New(sha256.New, []byte("aimabot-log:123:token"))
	m.Write([]byte("-1001234567890"))
	sum := hex.EncodeToString(m.Sum(nil))
	if got := h.Log(-1001234567890); got != sum[:12] {
		t.Errorf("Log(-1001234567890) = %s; want %s", got, sum[:12])
	}
	if got := h.Name(-1001234567890); got != sum[:32] {
		t.Errorf("Name(-1001234567890) = %s; want %s", got, sum[:32])
	}
	if NewChatHash("other").Name(5) == h.Name(5) {
		t.Errorf("two secrets give chat 5 the same name")
	}
	if (ChatHash{}).Name(5) != NewChatHash("").Name(5) {
		t.Errorf("the zero ChatHash names chat 5 otherwise than NewChatHash(\"\")")
	}
}
