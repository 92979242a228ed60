package main

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/postgres/pgtest"
)

// Two `taskapi serve` instances on one PostgreSQL database, behind one
// name (the Host header, as a load balancer keeps it): a DPoP proof
// accepted by one is refused by the other, with the answer the first gives
// to its own replay.
func TestServeDPoPReplayAcrossInstances(t *testing.T) {
	t.Chdir(t.TempDir())
	iss := devissuer.NewTestServer(t)
	client := newDPoPClient(t)
	bound, err := iss.Token(devissuer.TokenRequest{Subject: "auth0|dpop", Extra: map[string]any{"cnf": map[string]any{"jkt": client.jkt}}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "DATABASE_URL": pgtest.Schema(t)}
	var addrs []string
	for range 2 {
		_, stderr, done, _ := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
		addrs = append(addrs, stderr.waitFor(t, listeningRE, done)[1])
	}
	const host = "api.example.com"
	send := func(addr, proof string) answer {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+"/tasks", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Authorization", "DPoP "+bound)
		req.Header.Set("DPoP", proof)
		return do(t, req)
	}
	proof := client.proof("GET", "http://"+host+"/tasks", bound)
	if a := send(addrs[0], proof); a.status != http.StatusOK {
		t.Fatalf("A: %d %v", a.status, a.body)
	}
	local := send(addrs[0], proof)
	if local.status != http.StatusBadRequest || local.body["code"] != "invalid_dpop_proof" ||
		!strings.Contains(local.header.Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
		t.Fatalf("A's own replay: %d %v %q", local.status, local.body, local.header.Get("WWW-Authenticate"))
	}
	other := send(addrs[1], proof)
	if other.status != local.status || !reflect.DeepEqual(other.body, local.body) ||
		other.header.Get("WWW-Authenticate") != local.header.Get("WWW-Authenticate") {
		t.Fatalf("replay to B: %d %v %q, want A's answer %d %v %q", other.status, other.body, other.header.Get("WWW-Authenticate"),
			local.status, local.body, local.header.Get("WWW-Authenticate"))
	}
	// A new proof is fine on B.
	if b := send(addrs[1], client.proof("GET", "http://"+host+"/tasks", bound)); b.status != http.StatusOK {
		t.Fatalf("B, new proof: %d %v", b.status, b.body)
	}
}
