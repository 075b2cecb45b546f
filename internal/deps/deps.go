// Package deps pins the third-party packages edgerelay builds on while the
// packages that use them are being written.
package deps

import (
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/golang/snappy"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/common/model"
	_ "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "github.com/prometheus/prometheus/model/relabel"
	_ "github.com/prometheus/prometheus/model/textparse"
	_ "github.com/prometheus/prometheus/prompb"
	_ "github.com/prometheus/prometheus/promql/parser"
	_ "github.com/prometheus/prometheus/scrape"
	_ "github.com/prometheus/prometheus/storage"
	_ "github.com/prometheus/prometheus/storage/remote"
	_ "github.com/quic-go/quic-go"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/urfave/cli/v2"
	_ "go.yaml.in/yaml/v2"
	_ "golang.org/x/sync/errgroup"
)
