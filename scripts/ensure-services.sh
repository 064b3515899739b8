#!/usr/bin/env bash
# Makes sure Redis (6379) and Mosquitto (1883) answer on 127.0.0.1, installing them from Debian's
# packages and starting them when they do not. The Google emulators cannot be installed here: the
# test harness checks for them and names what is missing.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

need_install=()
command -v redis-server >/dev/null || need_install+=(redis-server)
command -v mosquitto >/dev/null || need_install+=(mosquitto)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "installing ${need_install[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

if ! answers 6379; then
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
fi
if ! answers 1883; then
  echo "starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -p 1883
fi

for port in 6379 1883; do
  for _ in $(seq 1 50); do answers "$port" && break; sleep 0.1; done
  answers "$port" || { echo "service on 127.0.0.1:$port did not come up" >&2; exit 1; }
done
echo "redis 127.0.0.1:6379 and mosquitto 127.0.0.1:1883 answer"
