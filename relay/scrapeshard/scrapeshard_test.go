package scrapeshard

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func targets(n int) []labels.Labels {
	var ts []labels.Labels
	for i := range n {
		ts = append(ts, labels.FromStrings("job", "node", "instance", fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250)))
	}
	return ts
}

// TestStaticPartitions: the shares of count edges partition the targets,
// each share gets a fair part, and Hash is hashmod's reading of the MD5 of
// the labels as Prometheus writes them.
func TestStaticPartitions(t *testing.T) {
	ts := targets(3000)
	const count = 3
	got := make([]int, count)
	for _, tg := range ts {
		owners := 0
		for i := range count {
			if (Static{Index: i, Count: count}).Owns(tg) {
				owners++
				got[i]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", tg, owners)
		}
	}
	for i, n := range got {
		if n < 800 || n > 1200 {
			t.Errorf("share %d of %d got %d of %d targets", i, count, n, len(ts))
		}
	}
	tg := labels.FromStrings("job", "node", "instance", "h:9100")
	sum := md5.Sum([]byte(`{instance="h:9100", job="node"}`))
	if Hash(tg) != binary.BigEndian.Uint64(sum[8:]) {
		t.Error("Hash is not the low 8 bytes of the MD5 of the labels' text")
	}
}

// TestRendezvousMovesOnlyTheLeaversTargets: when a member leaves, only
// its targets move, spread over the others; when it comes back, exactly
// those return.
func TestRendezvousMovesOnlyTheLeaversTargets(t *testing.T) {
	ts := targets(2000)
	all := []string{"a", "b", "c", "d"}
	before := map[int]string{}
	for i, tg := range ts {
		before[i] = Owner(Key(tg), all)
	}
	rest := []string{"a", "c", "d"}
	gained := map[string]int{}
	for i, tg := range ts {
		o := Owner(Key(tg), rest)
		if before[i] != "b" && o != before[i] {
			t.Fatalf("%s moved from %s to %s though %s stayed", tg, before[i], o, before[i])
		}
		if before[i] == "b" {
			gained[o]++
		}
	}
	for _, m := range rest {
		if gained[m] == 0 {
			t.Errorf("member %s took none of b's targets: %v", m, gained)
		}
	}
	m := NewMembers("b")
	if m.Owns(ts[0]) {
		t.Error("a member owns targets before it is in the set")
	}
	m.Set([]string{"d", "c", "b", "a", "a"})
	if got := m.List(); fmt.Sprint(got) != "[a b c d]" {
		t.Errorf("members %v", got)
	}
	for i, tg := range ts {
		if m.Owns(tg) != (before[i] == "b") {
			t.Fatalf("%s: b owns it %v, want %v", tg, m.Owns(tg), before[i] == "b")
		}
	}
}
