package arena

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTestStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreAddAndReopen(t *testing.T) {
	ctx := context.Background()
	// A '?' in the name must not be taken for DSN parameters.
	path := filepath.Join(t.TempDir(), "votes?x=1.db")
	s := openTestStore(t, path)
	when := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	votes := []Vote{
		{ModelA: "llama-3.1-8b", ModelB: "qwen2.5-7b", Winner: WinnerA, Prompt: "2+2?", AnswerA: "4", AnswerB: "four", Time: when},
		{ModelA: "qwen2.5-7b", ModelB: "llama-3.1-8b", Winner: WinnerTie, Prompt: "Who are you?", AnswerA: "I am Qwen.", AnswerB: "An assistant."},
		{ModelA: "qwen2.5-7b", ModelB: "llama-3.1-8b", Winner: WinnerB, Prompt: "hi", AnswerA: "hello", AnswerB: "Hi! I'm Llama 3."},
		{ModelA: "qwen2.5-7b", ModelB: "llama-3.1-8b", Winner: WinnerBothBad, Prompt: "héllo\x00", AnswerA: "…", AnswerB: "", Voided: true},
		{ModelA: "llama-3.1-8b", ModelB: "qwen2.5-7b", Winner: WinnerB, Prompt: "p", AnswerA: "a", AnswerB: "b"},
	}
	wantVoided := []bool{false, true, true, true, false}
	for i, v := range votes {
		got, err := s.Add(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != int64(i+1) || got.Voided != wantVoided[i] || got.Time.IsZero() {
			t.Errorf("vote %d stored as ID %d, voided %v, time %v", i, got.ID, got.Voided, got.Time)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, path)
	all, err := s.Votes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(votes) {
		t.Fatalf("%d votes after reopening, want %d", len(all), len(votes))
	}
	for i, v := range all {
		w := votes[i]
		if v.ModelA != w.ModelA || v.ModelB != w.ModelB || v.Winner != w.Winner || v.Prompt != w.Prompt ||
			v.AnswerA != w.AnswerA || v.AnswerB != w.AnswerB || v.Voided != wantVoided[i] {
			t.Errorf("vote %d read back as %+v, wrote %+v", i, v, w)
		}
	}
	if !all[0].Time.Equal(when) {
		t.Errorf("time read back as %v, wrote %v", all[0].Time, when)
	}
	bs, err := s.Battles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Battle{votes[0].Battle(), votes[4].Battle()}
	if fmt.Sprint(bs) != fmt.Sprint(want) {
		t.Errorf("Battles() = %v, want the two unvoided votes %v", bs, want)
	}
}

func TestStoreRejects(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "v.db"))
	for _, v := range []Vote{
		{ModelA: "a", ModelB: "b", Winner: "draw"},
		{ModelA: "a", ModelB: "a", Winner: WinnerA},
		{ModelB: "b", Winner: WinnerA},
	} {
		if _, err := s.Add(context.Background(), v); err == nil {
			t.Errorf("%+v accepted", v)
		}
	}
	if vs, _ := s.Votes(context.Background()); len(vs) != 0 {
		t.Errorf("rejected votes were stored: %v", vs)
	}
}

// TestStoreConcurrentWriters: goroutines on two handles of one file add
// votes at once; every vote must arrive exactly once.
func TestStoreConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "votes.db")
	handles := []*Store{openTestStore(t, path), openTestStore(t, path)}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := handles[w%len(handles)]
			for k := range each {
				_, err := s.Add(ctx, Vote{ModelA: "a", ModelB: "b", Winner: WinnerA, Prompt: fmt.Sprintf("%d/%d", w, k)})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	// A reader runs alongside the writers; WAL lets it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := handles[1].Votes(ctx); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	vs, err := handles[0].Votes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Prompt] {
			t.Errorf("vote %s stored twice", v.Prompt)
		}
		seen[v.Prompt] = true
	}
	if len(vs) != writers*each || len(seen) != writers*each {
		t.Errorf("%d votes (%d distinct) stored, want %d", len(vs), len(seen), writers*each)
	}
	var mode string
	if err := handles[0].db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
}

func TestStoreRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := OpenStore(path); err == nil {
		s.Close()
		t.Error("schema version 99 accepted")
	}
}

func BenchmarkStoreAdd(b *testing.B) {
	s, err := OpenStore(filepath.Join(b.TempDir(), "v.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v := Vote{ModelA: "a", ModelB: "b", Winner: WinnerA, Prompt: "p", AnswerA: "x", AnswerB: "y"}
	for b.Loop() {
		if _, err := s.Add(context.Background(), v); err != nil {
			b.Fatal(err)
		}
	}
}
