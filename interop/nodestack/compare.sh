#!/usr/bin/env bash
# Loads taskapi and the tutorial's Node stack (server.js) with the same
# cmd/loadgen scenarios, taking turns, on one machine: each run also measures
# loadgen's bare handler, so every figure has a floor from the same moment.
#
#   interop/nodestack/compare.sh [rounds] [duration] [scenarios]
#
# Needs Go, Node.js 20 and `npm ci` in interop/nodestack (better-sqlite3 12
# builds from source when no prebuilt binary can be fetched). Both services
# use SQLite in WAL mode with synchronous=NORMAL, verify RS256 tokens of the
# same issuer (`taskapi dev`'s) and run on 127.0.0.1.
set -euo pipefail
rounds=${1:-3}
duration=${2:-5s}
scenarios=${3:-bare,get-tasks,post-tasks}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

(cd "$root" && go build -o "$work/taskapi" ./cmd/taskapi && go build -o "$work/loadgen" ./cmd/loadgen)
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund)

port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(port_of)
issuer_port=$(port_of)
(cd "$work" && PORT=$api_port LOG_LEVEL=warn exec \
	"$work/taskapi" dev -issuer-addr "127.0.0.1:$issuer_port" > "$work/dev.out" 2>&1) &
pids+=($!)
for _ in $(seq 100); do grep -q '^eyJ' "$work/dev.out" 2>/dev/null && break; sleep 0.2; done
token=$(grep -m1 '^eyJ' "$work/dev.out")
issuer=$(grep -o '"issuer":"[^"]*"' "$work/dev.out" | head -1 | cut -d'"' -f4)
node "$here/server.js" --issuer "$issuer" --audience task-manager-api --db "$work/node.db" > "$work/node.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '"url"' "$work/node.out" 2>/dev/null && break; sleep 0.2; done
node_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/node.out" | head -1)

for r in $(seq "$rounds"); do
	for target in "taskapi http://127.0.0.1:$api_port" "node $node_url"; do
		set -- $target
		echo "== round $r: $1"
		"$work/loadgen" -url "$2" -token "$token" -scenario "$scenarios" -duration "$duration" 2>&1 | grep -E '^ +(db|-|[a-z]+ +[a-z-]+ +[0-9])|of the bare'
	done
done
