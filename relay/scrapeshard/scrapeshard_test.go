package scrapeshard

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/member"
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

func ids(names ...string) []member.Member {
	var ms []member.Member
	for _, n := range names {
		ms = append(ms, member.Member{ID: n})
	}
	return ms
}

// TestMembersMoveOnlyTheLeaversTargets: when a member leaves, only its
// targets move, spread over the others; a member owns nothing until it is
// in the set, and then exactly its own.
func TestMembersMoveOnlyTheLeaversTargets(t *testing.T) {
	ts := targets(2000)
	owners := map[string]*Members{}
	for _, id := range []string{"a", "b", "c", "d"} {
		owners[id] = NewMembers(id)
		owners[id].Set(ids("d", "c", "b", "a", "a"))
	}
	if got := owners["a"].List(); len(got) != 4 || got[0].ID != "a" || got[3].ID != "d" {
		t.Fatalf("members %v", got)
	}
	before := map[int]string{}
	for i, tg := range ts {
		n := 0
		for id, m := range owners {
			if m.Owns(tg) {
				before[i] = id
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s has %d owners", tg, n)
		}
	}
	gained := map[string]int{}
	for _, id := range []string{"a", "c", "d"} {
		if !owners[id].Set(ids("a", "c", "d")) {
			t.Fatal("Set reported no change")
		}
	}
	for i, tg := range ts {
		for _, id := range []string{"a", "c", "d"} {
			if !owners[id].Owns(tg) {
				continue
			}
			if before[i] != "b" && before[i] != id {
				t.Fatalf("%s moved from %s to %s though %s stayed", tg, before[i], id, before[i])
			}
			if before[i] == "b" {
				gained[id]++
			}
		}
	}
	for _, id := range []string{"a", "c", "d"} {
		if gained[id] == 0 {
			t.Errorf("member %s took none of b's targets: %v", id, gained)
		}
	}
	if NewMembers("b").Owns(ts[0]) {
		t.Error("a member owns targets before it is in the set")
	}
}
