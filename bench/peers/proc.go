package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/edgerelay/edgerelay/bench/internal/procstat"
)

// proc is one process the bench started; it is stopped by its PID only.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// procs holds every process still running, so an interrupted run stops them all.
var procs struct {
	sync.Mutex
	live map[*proc]bool
}

// start runs bin with args, its output in dir/<name>.log.
func start(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	procs.Lock()
	if procs.live == nil {
		procs.live = map[*proc]bool{}
	}
	procs.live[p] = true
	procs.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process's PID, and SIGKILL after 15 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	procs.Lock()
	delete(procs.live, p)
	procs.Unlock()
}

// stopAll stops every process still running, last started first is not
// needed: each is independent once the bench gives up.
func stopAll() {
	procs.Lock()
	var ps []*proc
	for p := range procs.live {
		ps = append(ps, p)
	}
	procs.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return string(b)
}

// cpuSeconds is user+system CPU time of pid.
func cpuSeconds(pid int) (float64, error) { return procstat.CPUSeconds(pid) }

// memStatus reads VmRSS and VmHWM (bytes) of pid.
func memStatus(pid int) (rss, hwm float64, err error) { return procstat.Mem(pid) }

// client asks the bench's own processes; none of them may hold the run up.
var client = &http.Client{Timeout: 15 * time.Second}

// freeAddr is a loopback address with a port free now (TCP and UDP).
func freeAddr() string { return procstat.FreeAddr() }

// waitHTTP polls url until it answers 200, p exits, or the context ends.
func waitHTTP(ctx context.Context, url string, p *proc, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited: %s", p.name, p.tail())
		}
		if r, err := client.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s", url, limit)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sleep waits d or until the context ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
