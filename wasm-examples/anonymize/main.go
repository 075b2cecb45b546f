// Command anonymize is edgerelay's built-in anonymize plugin
// (builtin:anonymize): it replaces the values of chosen labels with a keyed
// hash, HMAC-SHA256 truncated and base64url-encoded, so equal inputs map to
// equal outputs across restarts and sites sharing the key, and nobody
// without the key can reverse them. Build with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o anonymize.wasm .
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"

	"github.com/edgerelay/edgerelay/sdk"
)

func init() {
	sdk.Register(sdk.Plugin{Init: configure, Series: process})
}

func main() {}

// config is the plugin's configuration. The host reads key_file and passes
// its content as key: the plugin itself has no filesystem.
type config struct {
	Labels     []string `json:"labels"`
	LabelRegex string   `json:"label_regex"`
	Key        string   `json:"key"`
	Length     int      `json:"length"`
}

var (
	names  []string
	re     *regexp.Regexp
	mac    hash.Hash
	length = 16
	sum    []byte
	enc    []byte
	// seen remembers pseudonyms: values such as instance repeat across series.
	seen sdk.Memo[string]
)

func configure(raw []byte) error {
	var c config
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return err
	}
	if c.Key == "" {
		return errors.New("key (or key_file) is required")
	}
	if len(c.Labels) == 0 && c.LabelRegex == "" {
		return errors.New("labels or label_regex is required")
	}
	maxLen := base64.RawURLEncoding.EncodedLen(sha256.Size)
	if c.Length < 0 || c.Length > maxLen {
		return fmt.Errorf("length must be between 1 and %d; got %d", maxLen, c.Length)
	}
	if c.Length > 0 {
		length = c.Length
	}
	if c.LabelRegex != "" {
		var err error
		if re, err = regexp.Compile("^(?s:" + c.LabelRegex + ")$"); err != nil {
			return fmt.Errorf("label_regex: %w", err)
		}
	}
	names = c.Labels
	mac = hmac.New(sha256.New, []byte(c.Key))
	return nil
}

func chosen(name string) bool {
	return slices.Contains(names, name) || (re != nil && re.MatchString(name))
}

// pseudonym is base64url(HMAC-SHA256(key, value)) cut to length characters.
func pseudonym(value string) string {
	mac.Reset()
	mac.Write([]byte(value))
	sum = mac.Sum(sum[:0])
	enc = base64.RawURLEncoding.AppendEncode(enc[:0], sum)
	return string(enc[:length])
}

func process(ls sdk.Labels) (sdk.Labels, bool) {
	for i := range ls {
		if chosen(ls[i].Name) {
			ls[i].Value = seen.Get(ls[i].Value, pseudonym)
		}
	}
	return ls, true
}
