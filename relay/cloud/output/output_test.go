package output

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fake records what it was given; fail, when set, is its Deliver's answer.
type fake struct {
	name string
	log  *[]string
	fail error
	mu   sync.Mutex
	runs int
}

func (f *fake) Name() string { return f.name }

func (f *fake) Deliver(_ context.Context, d *Delivery) error {
	*f.log = append(*f.log, f.name+" deliver")
	return f.fail
}

func (f *fake) Run(ctx context.Context) error {
	f.mu.Lock()
	f.runs++
	f.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// committer is a fake that also wants committed blocks.
type committer struct{ fake }

func (c *committer) Committed(d *Delivery) { *c.log = append(*c.log, c.name+" committed") }

func TestFanout(t *testing.T) {
	var log []string
	a := &fake{name: "a", log: &log}
	b := &committer{fake{name: "b", log: &log}}
	c := &fake{name: "c", log: &log}
	f := Fanout{a, b, c}
	d := &Delivery{Tenant: "acme", Site: "s1", QueueID: 1, Seq: 2}

	if err := f.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	f.Committed(d)
	if got := strings.Join(log, ", "); got != "a deliver, b deliver, c deliver, b committed" {
		t.Fatalf("calls: %s", got)
	}

	// An output that fails stops the fan-out and is named.
	log = nil
	b.fail = errors.New("disk full")
	err := f.Deliver(context.Background(), d)
	if err == nil || err.Error() != "b: disk full" || !errors.Is(err, b.fail) {
		t.Fatalf("error %v, want the failing output named", err)
	}
	if got := strings.Join(log, ", "); got != "a deliver, b deliver" {
		t.Fatalf("calls after a failure: %s", got)
	}

	// Run runs every output until the context ends, and returns nil then.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, o := range []*fake{a, &b.fake, c} {
		o.mu.Lock()
		if o.runs != 1 {
			t.Errorf("%s ran %d times", o.name, o.runs)
		}
		o.mu.Unlock()
	}
}
