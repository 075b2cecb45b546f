// Package scrapeconf is edgerelay's scrape configuration: Prometheus'
// scrape_configs syntax, defaults and validation (Prometheus v0.316's
// config package, whose Go field names and types ScrapeConfig keeps), for
// the keys edgerelay implements, without linking Prometheus' config
// package and the cloud SDKs and discoveries it brings along.
//
// A key of Prometheus' syntax that edgerelay does not implement is refused
// by name (refuse.go), never accepted and ignored; the full build (-tags
// full) also takes kubernetes_sd_configs and consul_sd_configs (sd_full.go).
// Target discoveries are package sd's types. Values are plain data: a
// loaded ScrapeConfig is read-only and safe to share between goroutines.
package scrapeconf
