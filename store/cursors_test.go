package store

import (
	"reflect"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestCursorsPersistAndSurviveDamage(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := q.LoadCursor("a"); err != nil || c != (Cursor{}) {
		t.Fatalf("a new cursor: %+v, %v; want zero", c, err)
	}
	if err := q.SaveCursor("a", Cursor{Acked: 7, Skip: 3}); err != nil {
		t.Fatal(err)
	}
	if err := q.db.Update(func(txn *badger.Txn) error { return txn.Set(cursorKey("b"), []byte("short")) }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if c, err := q.LoadCursor("a"); err != nil || c != (Cursor{Acked: 7, Skip: 3}) {
		t.Fatalf("after reopening: %+v, %v; want through 7 skipping 3", c, err)
	}
	if c, err := q.LoadCursor("b"); err != nil || c != (Cursor{}) {
		t.Fatalf("a damaged cursor: %+v, %v; want zero (start over) and no error", c, err)
	}
	want := []NamedCursor{{"a", Cursor{Acked: 7, Skip: 3}}, {"b", Cursor{}}}
	if got, err := q.Cursors(); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Cursors() = %+v, %v; want %+v", got, err, want)
	}
}
