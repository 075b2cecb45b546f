package scrapeconf

import (
	"errors"
	"testing"
)

// FuzzLoad: no document makes Load panic, it refuses what Prometheus
// refuses (short of its own refusals by name) and accepts what Prometheus
// accepts, with the same values, and what it accepts keeps Validate's
// promises.
func FuzzLoad(f *testing.F) {
	for _, c := range scrapeCases {
		f.Add(c.doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		ours, err, prom, perr := loadBoth(doc)
		var re RefusedErrors
		if errors.As(err, &re) {
			return
		}
		if (err == nil) != (perr == nil) {
			t.Fatalf("edgerelay: %v; Prometheus: %v", err, perr)
		}
		if err != nil {
			return
		}
		pcs, _ := prom.GetScrapeConfigs()
		jobs := map[string]bool{}
		for i, sc := range ours.ScrapeConfigs {
			if d := compareScrape(sc, pcs[i]); len(d) > 0 {
				t.Fatalf("scrape_configs[%d]: %v", i, d)
			}
			if sc.ScrapeTimeout > sc.ScrapeInterval || sc.ScrapeInterval <= 0 || len(sc.ScrapeProtocols) == 0 || jobs[sc.JobName] {
				t.Fatalf("scrape_configs[%d] accepted as %+v", i, sc)
			}
			jobs[sc.JobName] = true
		}
	})
}
