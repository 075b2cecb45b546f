package transport

import (
	"bufio"
	"os"
	"testing"
)

// timeoutWithData returns its data together with a deadline's timeout,
// as a stream read does when the deadline passes while data arrives; every
// read after that returns more data and no error.
type timeoutWithData struct{ reads int }

func (r *timeoutWithData) Read(p []byte) (int, error) {
	r.reads++
	p[0] = byte(r.reads)
	if r.reads == 1 {
		return 1, os.ErrDeadlineExceeded
	}
	return 1, nil
}

// TestDataFirstDropsTimeoutWithData: a timeout that came with data must not
// reach the bufio.Reader, which would keep it and fail the read after the
// data, once the deadline is long gone (ready's 100µs wait did this to
// healthy connections).
func TestDataFirstDropsTimeoutWithData(t *testing.T) {
	br := bufio.NewReaderSize(dataFirst{&timeoutWithData{}}, 16)
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	for want := byte(1); want <= 3; want++ {
		b, err := br.ReadByte()
		if err != nil || b != want {
			t.Fatalf("byte %d: %d, %v", want, b, err)
		}
	}
}

// TestDataFirstKeepsTimeoutWithoutData: a read that found nothing before
// the deadline still times out.
func TestDataFirstKeepsTimeoutWithoutData(t *testing.T) {
	_, err := dataFirst{readerFunc(func([]byte) (int, error) { return 0, os.ErrDeadlineExceeded })}.Read(make([]byte, 4))
	if err != os.ErrDeadlineExceeded {
		t.Fatalf("err = %v, want the deadline's", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
