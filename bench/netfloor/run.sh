#!/bin/bash
# The network floor on this machine: PING and a cached WHO reply through a
# goroutine per connection and through an event loop (netfloor), against
# Redis's PING and GET of a 260-byte value, with the bench's settings
# (redis-benchmark -c 50 -n 200000 -r 100000, -P 1 and -P 16). Two rounds,
# alternating. Needs redis-server and redis-benchmark.
set -euo pipefail
cd "$(dirname "$0")"
go build -o /tmp/netfloor .
rb() { redis-benchmark -p "$1" -c 50 -n 200000 -r 100000 -P "$2" -q "${@:3}" 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1; }
redis-server --port 6399 --save '' --appendonly no --daemonize yes >/dev/null
trap 'redis-cli -p 6399 shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 1
redis-benchmark -p 6399 -c 50 -n 200000 -r 100000 -P 16 -q SET key:__rand_int__ "$(head -c 260 /dev/zero | tr '\0' x)" >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "layer round PING-P1 WHO-or-GET-P1 WHO-or-GET-P16"
for round in 1 2; do
  for mode in go gnet; do
    /tmp/netfloor -mode "$mode" -addr 127.0.0.1:7999 2>/dev/null &
    pid=$!
    sleep 1
    echo "$mode $round $(rb 7999 1 PING) $(rb 7999 1 WHO email:u__rand_int__@bench.io) $(rb 7999 16 WHO email:u__rand_int__@bench.io)"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
  echo "redis $round $(rb 6399 1 PING) $(rb 6399 1 GET key:__rand_int__) $(rb 6399 16 GET key:__rand_int__)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
