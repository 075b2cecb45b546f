package cloud

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// registerBarriers exports what the durability barriers of cloud.data_dir
// (the delta base logs) and cloud.files_dir (the files output) did: one
// barrier, shared by every site's blocks of its moment, makes their writes
// durable (fsutil.Barrier). When both directories are on one filesystem
// they share one barrier, counted under "data_dir".
func registerBarriers(reg prometheus.Registerer, data, files *fsutil.Barrier) {
	for _, b := range []struct {
		name string
		b    *fsutil.Barrier
	}{{"data_dir", data}, {"files_dir", files}} {
		if b.b == nil || b.name == "files_dir" && files == data {
			continue
		}
		br := b.b
		labels := prometheus.Labels{"dir": b.name}
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "edgerelay_cloud_sync_barriers_total", ConstLabels: labels,
			Help: "Durability barriers run (one syncfs of the filesystem, or one fsync of each file written since the last), by the directory whose filesystem they sync.",
		}, func() float64 { n, _ := br.Stats(); return float64(n) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "edgerelay_cloud_sync_waits_total", ConstLabels: labels,
			Help: "Writes that waited for a durability barrier (a block's files, their renames, a delta base log record); over edgerelay_cloud_sync_barriers_total, how many shared one.",
		}, func() float64 { _, n := br.Stats(); return float64(n) }))
	}
}
