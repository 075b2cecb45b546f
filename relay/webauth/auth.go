package webauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"sync"

	config_util "github.com/prometheus/common/config"
	"golang.org/x/crypto/bcrypt"
)

type userKey struct{}

// User returns the basic_auth user the request authenticated as, if any.
// Only a Listener's Handler sets it, and only after checking the password.
func User(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(userKey{}).(string)
	return u, ok
}

// Handler serves next behind the web configuration: the rate limit and the
// configured headers apply to every request; the paths in open need no
// credentials; every other path needs a basic_auth user's credentials when
// the file has users (401 otherwise, as exporter-toolkit answers), and
// passes anonymous requests when it has none. Handlers learn the user from
// User.
func (l *Listener) Handler(next http.Handler, open ...string) http.Handler {
	isOpen := make(map[string]bool, len(open))
	for _, p := range open {
		isOpen[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := l.config()
		if err != nil {
			if isOpen[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			l.refused.WithLabelValues(ReasonBadWebConfig).Inc()
			http.Error(w, "web config file does not validate; see the relay's log", http.StatusInternalServerError)
			return
		}
		if l.limiter != nil && !l.limiter.Allow() {
			l.refused.WithLabelValues(ReasonRateLimited).Inc()
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
			return
		}
		for k, v := range c.HTTPConfig.Header {
			w.Header().Set(k, v)
		}
		if isOpen[r.URL.Path] || len(c.Users) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if ok {
			hash, known := c.Users[user]
			if !known {
				// Compare against a hash of the same cost as the users',
				// so timing does not tell which users exist.
				for _, h := range c.Users {
					hash = decoy(string(h))
					break
				}
			}
			if l.auth.check(user, string(hash), pass) && known {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
				return
			}
		}
		l.Refuse(w, http.StatusUnauthorized, "")
	})
}

// Refuse answers a request with code (401, 403) and msg, and counts it.
func (l *Listener) Refuse(w http.ResponseWriter, code int, msg string) {
	reason := ReasonForbidden
	if code == http.StatusUnauthorized {
		reason = ReasonUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="edgerelay"`)
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	l.refused.WithLabelValues(reason).Inc()
	http.Error(w, msg, code)
}

// authCache remembers recent bcrypt verdicts, as exporter-toolkit does, so
// a scraper's every request does not pay a bcrypt comparison. Keys are
// SHA-256 digests of user, hash and password: no password is kept in
// memory. It is emptied whenever the file is read again.
type authCache struct {
	mu     sync.Mutex
	seen   map[[32]byte]bool
	bcrypt sync.Mutex // one comparison at a time: each costs tens of ms of CPU
}

// maxCached bounds the cache; past it, it starts again empty.
const maxCached = 256

func (a *authCache) reset() {
	a.mu.Lock()
	a.seen = nil
	a.mu.Unlock()
}

// check verifies pass against hash.
func (a *authCache) check(user, hash, pass string) bool {
	h := sha256.New()
	for _, s := range []string{user, hash, pass} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var key [32]byte
	h.Sum(key[:0])
	a.mu.Lock()
	ok, hit := a.seen[key]
	a.mu.Unlock()
	if !hit {
		a.bcrypt.Lock()
		ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
		a.bcrypt.Unlock()
		a.mu.Lock()
		if a.seen == nil || len(a.seen) >= maxCached {
			a.seen = map[[32]byte]bool{}
		}
		a.seen[key] = ok
		a.mu.Unlock()
	}
	return ok
}

// decoys holds, by bcrypt cost, a hash of a random password.
var decoys sync.Map

// decoy returns a hash of a random password at the cost of like.
func decoy(like string) config_util.Secret {
	cost, err := bcrypt.Cost([]byte(like))
	if err != nil {
		cost = bcrypt.DefaultCost
	}
	if h, ok := decoys.Load(cost); ok {
		return h.(config_util.Secret)
	}
	var pw [16]byte
	rand.Read(pw[:])
	b, err := bcrypt.GenerateFromPassword(pw[:], cost)
	if err != nil {
		panic("BUG: bcrypt: " + err.Error())
	}
	h, _ := decoys.LoadOrStore(cost, config_util.Secret(b))
	return h.(config_util.Secret)
}
