package cloud

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/cloud/rwout"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

// Check does with cfg what New does, short of binding listeners and making
// files or directories, and returns one joined error per problem, each
// naming the field: data_dir and files_dir must be directories or
// creatable; the server certificate, key and client CA are loaded (a
// self-signed pair only if data_dir holds one already); every tenant's
// token file is read (newAuthenticator, as New reads them); web_config_file
// is loaded and federate.tenant_users checked against it (newAccess); every
// remote_write endpoint gets its forwarder (rwout.New, as New builds it);
// notify.exec.command must be found; cloud.chain's TLS files and token
// are read (chainClient, as New reads them).
// `edgerelay run` calls it before New, and `edgerelay check-config` calls
// only it, so both refuse the same configurations with the same words.
func Check(cfg *config.Cloud, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	errs = append(errs, config.CheckDir("cloud.data_dir", cfg.DataDir), config.CheckDir("cloud.files_dir", cfg.FilesDir))
	if err := tlsutil.CheckServerFiles(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile, cfg.DataDir); err != nil {
		errs = append(errs, fmt.Errorf("cloud.%w", err))
	}
	discard := slog.New(slog.DiscardHandler)
	if _, err := newAuthenticator(cfg, discard, prometheus.NewRegistry()); err != nil {
		errs = append(errs, err)
	}
	if _, err := newAccess(cfg, log, prometheus.NewRegistry()); err != nil {
		errs = append(errs, err)
	}
	if e := cfg.Notify.Exec; e != nil && e.Command != "" {
		if _, err := exec.LookPath(e.Command); err != nil {
			errs = append(errs, fmt.Errorf("cloud.notify.exec.command: %w", err))
		}
	}
	if cfg.Chain != nil {
		if _, err := chainClient(cfg.Chain); err != nil {
			errs = append(errs, err)
		}
	}
	for i, rw := range cfg.Forward {
		if _, err := rwout.New(rw, rwout.Options{Logger: discard, Out: forwardOut(cfg, i)}); err != nil {
			errs = append(errs, fmt.Errorf("cloud.remote_write[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
