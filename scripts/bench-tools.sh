#!/usr/bin/env bash
# The load generator of bench/served.py and bench/profile.py: wrk, from Debian's packages.
# Installs it when this machine can (root with apt-get); elsewhere it says how, and the served
# benchmark then stops with the same advice.
set -euo pipefail

command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing wrk ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null
else
    echo "note: wrk is not installed and cannot be installed here (Debian: apt-get install wrk)" >&2
fi
