package harness

import (
	"errors"
	"net"
	"sync"
)

// Proxy is a TCP proxy on 127.0.0.1 that a test puts between the service
// and a dependency (PostgreSQL, the identity provider) to cut the link and
// restore it, as if the dependency restarted, without disturbing the real
// one.
type Proxy struct {
	target string
	addr   string

	mu      sync.Mutex
	l       net.Listener // nil while cut
	conns   map[net.Conn]struct{}
	stalled chan struct{} // closed when not stalled
	wg      sync.WaitGroup
}

// StartProxy starts a proxy to target (host:port) on a free port of
// 127.0.0.1. The caller must Close it.
func StartProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: l.Addr().String(), conns: map[net.Conn]struct{}{}, stalled: closedChan()}
	p.serve(l)
	return p, nil
}

// Addr returns the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(l net.Listener) {
	p.l = l
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// wait blocks while the proxy is stalled.
func (p *Proxy) wait() {
	p.mu.Lock()
	ch := p.stalled
	p.mu.Unlock()
	<-ch
}

// Stall stops forwarding without closing anything: open connections and
// new ones (accepted, not answered) hang, as with a server that stopped
// responding or a network that drops packets. Unstall resumes.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stalled:
		p.stalled = make(chan struct{})
	default:
	}
}

// Unstall resumes forwarding after Stall.
func (p *Proxy) Unstall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stalled:
	default:
		close(p.stalled)
	}
}

// copyConn copies src to dst, holding each chunk while the proxy is
// stalled.
func (p *Proxy) copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) pipe(c net.Conn) {
	p.wait()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		p.copyConn(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track records an open pair, unless the proxy has been cut meanwhile.
func (p *Proxy) track(c ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l == nil {
		return false
	}
	for _, x := range c {
		p.conns[x] = struct{}{}
	}
	return true
}

// Cut closes every open connection and stops listening: new connections
// are refused, as by a stopped server.
func (p *Proxy) Cut() {
	p.mu.Lock()
	l := p.l
	p.l = nil
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	if l != nil {
		l.Close()
	}
	p.wg.Wait()
}

// Restore listens again on the same address.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		return nil
	}
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		return errors.Join(errors.New("harness: proxy: listen again"), err)
	}
	p.serve(l)
	return nil
}

// Close cuts the proxy for good.
func (p *Proxy) Close() error {
	p.Unstall()
	p.Cut()
	return nil
}
