#!/usr/bin/env bash
# Shutdown time of the release `host` binary as a user runs it: both venue simulators, the
# Gate.io and MEXC venues on two markets each (book tickers, trades, depth), REST answering
# or failing every request, SIGTERM after a few seconds of streaming. Prints, per run, the
# report's shutdown time, its stop phase, the resources forced, the tasks left and how many
# WARN or ERROR lines the host logged.
#
#   cargo build --release -p host -p gateio-plugin -p mexc-plugin -p venue-sim
#   tests/scripts/shutdown_times.sh [runs per case, default 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/release
runs=${1:-5}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -m 755 "$work/plugins"
cp "$bin/libgateio_plugin.so" "$bin/libmexc_plugin.so" "$work/plugins/"
chmod 644 "$work/plugins/"*.so

start_sim() { # venue -> prints the sim's address
  "$bin/venue-sim" --venue "$1" --symbols BTC/USDT,ETH/USDT > "$work/$1.out" 2>&1 &
  echo $! > "$work/$1.pid"
  until grep -q "websocket:" "$work/$1.out"; do sleep 0.05; done
  grep -o "ws://[^/]*" "$work/$1.out" | head -1 | sed 's|ws://||'
}
gate=$(start_sim gateio)
mexc=$(start_sim mexc)

for rest in answering failing; do
  if [ "$rest" = answering ]; then gate_rest="http://$gate"; mexc_rest="http://$mexc"
  else gate_rest="http://$gate/api/v4"; mexc_rest="http://$mexc/missing"; fi
  cat > "$work/host.toml" <<TOML
plugins_dir = "$work/plugins"
[control]
enabled = false
[metrics]
enabled = false
[venues.gate]
plugin = "gateio"
symbols = ["BTC/USDT", "ETH/USDT"]
channels = ["book_ticker", "trades", "depth"]
endpoints = { ws_url = "ws://$gate/ws/v4/", rest_url = "$gate_rest" }
[venues.mexc]
plugin = "mexc"
symbols = ["BTC/USDT", "ETH/USDT"]
channels = ["book_ticker", "trades", "depth"]
endpoints = { ws_url = "ws://$mexc/ws", rest_url = "$mexc_rest" }
TOML
  for run in $(seq 1 "$runs"); do
    "$bin/host" run -c "$work/host.toml" --report "$work/report.json" 2> "$work/host.log" &
    pid=$!
    sleep 3
    kill -TERM "$pid"
    wait "$pid"
    warnings=$(grep -cE " (WARN|ERROR) " "$work/host.log" || true)
    python3 - "$work/report.json" "$rest" "$run" "$warnings" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
forced = [x["owner"] + "/" + x["name"] for x in r["stop"]["resources"] if x["outcome"] != "stopped"]
print(f"REST {sys.argv[2]:9} run {sys.argv[3]}: shutdown {r['elapsed_ms']:.1f} ms, stop phase "
      f"{r['stop']['elapsed_ms']:.1f} ms, resources {len(r['stop']['resources'])}, "
      f"not stopped {forced}, tasks {r['before']['tasks']} -> {r['after']['tasks']}, "
      f"left {r['tasks_left']}, warnings/errors logged {sys.argv[4]}")
PY
  done
done
