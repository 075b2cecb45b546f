package cloud

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// loadResetKey returns the QUIC stateless reset key kept at path, creating
// it on first use. The key outlives restarts so that a restarted cloud can
// tell edges still holding a connection of its previous run to reconnect.
func loadResetKey(path string) (*[32]byte, error) {
	var k [32]byte
	b, err := os.ReadFile(path)
	if err == nil && len(b) == len(k) {
		copy(k[:], b)
		return &k, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("quic reset key: %w", err)
	}
	if _, err := rand.Read(k[:]); err != nil {
		return nil, fmt.Errorf("quic reset key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("quic reset key: %w", err)
	}
	if err := fsutil.WriteFile(path, k[:], 0o600); err != nil {
		return nil, fmt.Errorf("quic reset key: %w", err)
	}
	return &k, nil
}
