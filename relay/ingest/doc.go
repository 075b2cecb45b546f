// Package ingest takes metrics into the edge: it scrapes targets (Scraper)
// and receives Prometheus remote_write 1.0 and 2.0 requests
// (NewRemoteWriteHandler).
//
// The Scraper discovers targets with package sd's Manager and turns them
// into targets as Prometheus' target relabelling does (target.go: address,
// scheme, metrics path, __param_ and interval labels, relabel_configs,
// instance defaulting, the same errors). It scrapes each job with the edge's own scrape loop (loop*.go), built for
// this pipeline: per target one HTTP GET per interval (Prometheus' Accept
// negotiation, gzip, timeout, body_size_limit), textparse, and a cache
// entry per exposed series holding its label set and its slot in the
// batch being built, so that a steady scrape neither hashes nor allocates
// per sample. It keeps Prometheus' semantics (staleness markers, report
// series, honor_labels and honor_timestamps, the sample, label, bucket,
// body and target limits, metric_relabel_configs, native histograms,
// exemplars, metadata, extra_scrape_metrics) and submits the very Batch
// Prometheus' scrape manager would have a storage appender collect;
// scrape_failure_log_file is refused by name. ParseScrape turns a scrape's
// body, given as bytes, into the Batch the Scraper would submit for it
// (`edgerelay plugin test` parses with it, through the appender in
// appender.go), and CheckScrapeConfigs checks scrape configs as the
// Scraper applies them.
// Both turn what they take into *relay.Batch values and hand each to a Sink,
// which returns only once the batch is durable; a scrape counts as taken and
// a remote_write request is answered 2xx only after that.
//
// Batch boundaries: a scrape of one target, stale markers and its report
// series (up, scrape_duration_seconds, scrape_samples_scraped, ...) included,
// is one Batch with Scrape=true, because Prometheus appends the report series
// through the same appender and commits them together with the scrape. When a
// target goes away, the stale markers Prometheus writes for it a little over
// two intervals later arrive as one more Batch of that target. A remote_write
// request is one Batch with Scrape=false.
//
// A scrape Batch's TargetLabels are the target's labels as its up series
// carries them (after relabel_configs; job and instance among them, which
// also fill Job and Instance). Discovered labels (__address__, __meta_*,
// ...) are never put in a Batch: the edge's plugin chain derives what
// leaves the edge from TargetLabels.
//
// Sharing targets: with ScrapeConfig.Shard set (several edges sharing one
// scrape_configs, package relay/scrapeshard), a job scrapes only the
// targets the Shard gives this edge, asked about each target's labels
// after relabel_configs whenever targets are discovered or Reshard is
// called. The filter sits where a job's targets are taken
// (loopPool.sync), and a target that moves away stops without end-of-run
// staleness markers.
//
// Concurrency: the remote_write handler serves concurrent requests; a Scraper
// submits from one goroutine per target, so its Sink must be safe for
// concurrent use. Scraper.ApplyConfig may be called while Run runs.
//
// Metrics, on the injected Registerer:
//   - edgerelay_ingested_samples_total{source="scrape"|"remote_write"}:
//     samples (float and native histogram) made durable. Registered by whichever constructor comes first
//     and shared by the other (an AlreadyRegisteredError resolves to the
//     existing collector), so both take the same Registerer.
//   - edgerelay_remote_write_requests_total{code}: requests answered.
//   - edgerelay_remote_write_rejected_total{reason}: requests not taken
//     (bad_snappy, bad_protobuf, invalid_labels, invalid_symbols,
//     invalid_histogram, too_large,
//     unsupported_media_type, unsupported_encoding, method, read_error,
//     queue_full, submit_failed).
//   - edgerelay_scrape_rejected_samples_total{reason}: submit_failed (the
//     sink refused the scrape).
//
// Native histograms (integer and float) and exemplars are carried exactly,
// beside float samples, in relay.Series. A scrape config negotiates them as
// Prometheus does: scrape_native_histograms: true (the protobuf format is
// then offered first) or scrape_protocols naming PrometheusProto, and
// always_scrape_classic_histograms, convert_classic_histograms_to_nhcb,
// native_histogram_bucket_limit and native_histogram_min_bucket_factor act
// as in Prometheus. As in Prometheus, an exemplar of a native histogram
// without a timestamp is not kept.
//   - the scrape and discovery metrics Prometheus has for what the edge
//     does, under Prometheus' names prefixed edgerelay_
//     (edgerelay_prometheus_target_..., edgerelay_prometheus_sd_...).
package ingest
