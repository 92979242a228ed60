package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// bareEnv names the file of a captured answer. A loadgen process started
// with it set is a bare handler (serveBare), not a load generator: the
// bare handler runs in a process of its own, like the service, so its CPU
// and memory are measured alike and it does not share a scheduler with
// the load.
const bareEnv = "LOADGEN_BARE_ANSWER"

// capturedFile is a capture as the bare-handler process reads it.
type capturedFile struct {
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// serveBare is the bare-handler process: it serves the answer in file on a
// free port of 127.0.0.1, writes "listening ADDR" to stdout, and exits when
// its stdin closes (its parent is gone). It returns the exit status.
func serveBare(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen bare: %v\n", err)
		return 1
	}
	var cf capturedFile
	if err := json.Unmarshal(b, &cf); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen bare: %s: %v\n", file, err)
		return 1
	}
	url, stop, err := startBare(&capture{header: cf.Header, body: cf.Body})
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen bare: %v\n", err)
		return 1
	}
	defer stop()
	fmt.Printf("listening %s\n", strings.TrimPrefix(url, "http://"))
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// bareProcess is a running bare-handler process.
type bareProcess struct {
	url   string
	cmd   *exec.Cmd
	stdin io.Closer
}

// startBareProcess starts this executable again as a bare-handler process
// serving c, its capture file in dir.
func startBareProcess(c *capture, dir string) (*bareProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(capturedFile{Header: c.header, Body: c.body})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "bare-answer.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), bareEnv+"="+file)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &bareProcess{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), "listening ")
		if !ok {
			p.stop()
			return nil, fmt.Errorf("bare handler process: unexpected first line %q", s)
		}
		p.url = "http://" + addr
		return p, nil
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, errors.New("bare handler process: not listening after 10s")
	}
}

// pid returns the process id of the bare handler.
func (p *bareProcess) pid() int { return p.cmd.Process.Pid }

// stop ends the process: closing its stdin asks it to exit.
func (p *bareProcess) stop() {
	p.stdin.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}
