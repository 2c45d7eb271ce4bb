package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// A disk that takes no more data (here a file size limit, as a full disk
// would): reads still work, but Ping reports the failed write until a
// write commits again.
func TestBoltPingAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenBolt(nil, dir, store.BoltOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v on a fresh store; want nil", err)
	}
	info, err := os.Stat(filepath.Join(dir, "aimabot.db"))
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	limit := old
	limit.Cur = uint64(info.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()

	big := make([]byte, 1<<20)
	apply := func(id int64) error {
		_, err := st.Apply(ctx, 1, id, "o", time.Minute, func([]byte) (store.Change, error) {
			return store.Change{Session: big, Outbox: [][]byte{[]byte("m")}}, nil
		})
		return err
	}
	if err := apply(1); err == nil {
		t.Fatal("Apply() of 1 MB on a file that may not grow = nil; want an error")
	}
	if err := st.Ping(ctx); err == nil || !strings.Contains(err.Error(), "last write failed") {
		t.Errorf("Ping() after a failed write = %v; want the failed write", err)
	}
	if _, _, err := st.Get(ctx, 1); err != nil {
		t.Errorf("Get() after a failed write = %v; want reads to work", err)
	}

	restore()
	if err := apply(2); err != nil {
		t.Fatalf("Apply() once the file may grow = %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping() after a write committed again = %v; want nil", err)
	}
}
