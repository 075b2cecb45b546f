// Package sd holds the scrape target discoveries edgerelay implements itself
// rather than linking Prometheus' own: dns_sd_configs, which Prometheus
// resolves with a DNS library edgerelay need not carry, and which here asks
// Go's resolver. Each registers with Prometheus' discovery registry under
// Prometheus' name and takes Prometheus' syntax, defaults and refusals, and
// its targets carry Prometheus' meta labels, so a scrape config moves
// between Prometheus and edgerelay as it is. Importing the package registers
// them; Discoverers are safe for the discovery manager's use.
package sd
