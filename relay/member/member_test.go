package member

import (
	"fmt"
	"math"
	"testing"
)

func members(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("cloud-%d", i), Addr: fmt.Sprintf("10.0.0.%d:4433", i)}
	}
	return ms
}

func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("acme/plant-%d", i)
	}
	return ks
}

// Every member gets close to its share of keys: within 10% of the mean at
// 20000 keys (a binomial's standard deviation there is about 1.7%).
func TestOwnerBalance(t *testing.T) {
	for _, n := range []int{2, 3, 5, 10} {
		ms := members(n)
		count := map[string]int{}
		ks := keys(20000)
		for _, k := range ks {
			m, ok := Owner(k, ms)
			if !ok {
				t.Fatal("no owner")
			}
			count[m.ID]++
		}
		mean := float64(len(ks)) / float64(n)
		for _, m := range ms {
			if d := math.Abs(float64(count[m.ID])-mean) / mean; d > 0.10 {
				t.Errorf("%d members: %s owns %d keys, %.1f%% off the mean %.0f", n, m.ID, count[m.ID], 100*d, mean)
			}
		}
	}
}

// When a member leaves, only its keys move, each to some other member;
// when one joins, only keys it now owns move, all to it.
func TestOwnerStability(t *testing.T) {
	ms := members(5)
	ks := keys(20000)
	before := map[string]string{}
	for _, k := range ks {
		m, _ := Owner(k, ms)
		before[k] = m.ID
	}
	gone := ms[2]
	rest := append(append([]Member{}, ms[:2]...), ms[3:]...)
	moved, owned := 0, 0
	for _, k := range ks {
		m, _ := Owner(k, rest)
		if before[k] == gone.ID {
			owned++
		}
		if m.ID != before[k] {
			moved++
			if before[k] != gone.ID {
				t.Fatalf("key %s moved from %s, which stayed, to %s", k, before[k], m.ID)
			}
		}
	}
	if moved != owned {
		t.Fatalf("%d keys moved, the member that left owned %d", moved, owned)
	}
	if share := float64(moved) / float64(len(ks)); share < 0.15 || share > 0.25 {
		t.Fatalf("%.3f of keys moved when one of 5 members left, want about 0.2", share)
	}
	joined := Member{ID: "cloud-new"}
	more := append(append([]Member{}, ms...), joined)
	moved = 0
	for _, k := range ks {
		m, _ := Owner(k, more)
		if m.ID != before[k] {
			moved++
			if m.ID != joined.ID {
				t.Fatalf("key %s moved from %s to %s, not to the member that joined", k, before[k], m.ID)
			}
		}
	}
	if share := float64(moved) / float64(len(ks)); share < 0.12 || share > 0.22 {
		t.Fatalf("%.3f of keys moved when a sixth member joined, want about 1/6", share)
	}
}

// The owner does not depend on the order members are listed in.
func TestOwnerOrder(t *testing.T) {
	ms := members(4)
	rev := []Member{ms[3], ms[1], ms[0], ms[2]}
	for _, k := range keys(500) {
		a, _ := Owner(k, ms)
		b, _ := Owner(k, rev)
		if a != b {
			t.Fatalf("key %s: owner %s in one order, %s in another", k, a.ID, b.ID)
		}
	}
	if _, ok := Owner("x", nil); ok {
		t.Fatal("an owner among no members")
	}
}

func TestJoinStatic(t *testing.T) {
	ms := members(3)
	s, err := Join(t.Context(), Config{Self: ms[1], Static: []Member{ms[2], ms[0], ms[1]}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := s.Live()
	if len(live) != 3 || live[0] != ms[0] || live[2] != ms[2] {
		t.Fatalf("live set %v, want %v sorted by id", live, ms)
	}
	owned := 0
	for _, k := range keys(3000) {
		if s.Owns(k) {
			owned++
		}
	}
	if owned < 800 || owned > 1200 {
		t.Fatalf("self owns %d of 3000 keys among 3 members", owned)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"self not listed", Config{Self: Member{ID: "other"}, Static: ms}},
		{"listed twice", Config{Self: ms[0], Static: append(members(3), ms[0])}},
		{"no id", Config{Static: ms}},
		{"neither list nor etcd", Config{Self: ms[0]}},
		{"both", Config{Self: ms[0], Static: ms, Etcd: &EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}, Prefix: "/x/"}}},
	} {
		if _, err := Join(t.Context(), tc.cfg); err == nil {
			t.Errorf("%s: joined", tc.name)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	ms := members(10)
	ks := keys(1000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Owner(ks[i%len(ks)], ms)
	}
}
