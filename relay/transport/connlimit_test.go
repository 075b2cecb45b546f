package transport

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConnsPerSite: a site holding MaxConnsPerSite connections is refused
// another, with the reason and the refusal counted; another site is not;
// once one of the site's connections ends, the site connects again.
func TestConnsPerSite(t *testing.T) {
	p := newPKI(t)
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: (&recorder{}).handle, MaxConnsPerSite: 2})
	site := func(name string) func(*ClientConfig) {
		return func(cfg *ClientConfig) { cfg.Hello.Site = name }
	}
	var held []*Conn
	for i := 0; i < 2; i++ {
		c, err := dialTest(t, s, p.client(t, false), site("a"))
		if err != nil {
			t.Fatalf("connection %d of site a: %v", i+1, err)
		}
		held = append(held, c)
	}
	_, err := dialTest(t, s, p.client(t, false), site("a"))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already holds 2 connections") {
		t.Fatalf("third connection of site a: %v, want refused for holding 2 connections", err)
	}
	s.waitMetric(t, "edgerelay_transport_refused_total", 1)
	if _, err := dialTest(t, s, p.client(t, false), site("b")); err != nil {
		t.Fatalf("site b refused while site a is at its limit: %v", err)
	}
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialTest(t, s, p.client(t, false), site("a"))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site a still refused after one of its connections ended: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConnsPerTenant: a tenant whose sites together hold its
// MaxConnsPerTenant connections is refused another for any site, with the
// reason and the refusal counted; another tenant is not; once one of the
// tenant's connections ends, a new site of it connects.
func TestConnsPerTenant(t *testing.T) {
	p := newPKI(t)
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: (&recorder{}).handle,
		MaxConnsPerTenant: func(tenant string) int {
			if tenant == "acme" {
				return 3
			}
			return 0
		}})
	as := func(tenant, site string) func(*ClientConfig) {
		return func(cfg *ClientConfig) { cfg.Hello.Tenant, cfg.Hello.Site = tenant, site }
	}
	var held []*Conn
	for _, site := range []string{"a", "b", "c"} {
		c, err := dialTest(t, s, p.client(t, false), as("acme", site))
		if err != nil {
			t.Fatalf("site %s of acme: %v", site, err)
		}
		held = append(held, c)
	}
	_, err := dialTest(t, s, p.client(t, false), as("acme", "d"))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `tenant "acme" already holds 3 connections`) {
		t.Fatalf("fourth connection of acme: %v, want refused for the tenant holding 3 connections", err)
	}
	s.waitMetric(t, "edgerelay_transport_refused_total", 1)
	for i := 0; i < 4; i++ {
		c, err := dialTest(t, s, p.client(t, false), as("bolt", fmt.Sprint("site-", i)))
		if err != nil {
			t.Fatalf("tenant bolt (no tenant bound) refused while acme is at its limit: %v", err)
		}
		defer c.Close()
	}
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialTest(t, s, p.client(t, false), as("acme", "d"))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acme still refused after one of its connections ended: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
