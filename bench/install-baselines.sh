#!/bin/sh
# Installs what the bench baselines need on Debian/Ubuntu: redis-server and
# redis-benchmark (redis-tools), and PostgreSQL's initdb/pg_ctl. Idempotent:
# does nothing when they are already there. The baselines start their own
# throwaway servers; the packages' system services are not needed.
set -eu

have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v redis-benchmark >/dev/null 2>&1 || missing="$missing redis-tools"
have_pg || missing="$missing postgresql"

if [ -z "$missing" ]; then
	echo "bench baselines: redis-server, redis-benchmark and postgresql already installed"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "bench baselines: need root or sudo to install:$missing" >&2; exit 1; }
	SUDO="sudo"
fi
echo "bench baselines: installing$missing"
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
