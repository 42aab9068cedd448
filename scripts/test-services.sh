#!/usr/bin/env bash
# The real servers the tests use: PostgreSQL (Debian's packages), headless Chromium, and nginx for
# the shipped reverse-proxy configuration (tests/system/test_proxy.py starts its own nginx); and OpenSSL's
# GOST provider, which GOST signatures hash with (libengine-gost-openssl).
# Installs and starts them when this machine can (root with apt-get); idempotent. Elsewhere it says
# what is missing: the PostgreSQL and browser tests then skip locally, and fail under CI=true.
set -euo pipefail

PG_URL="postgresql+psycopg://medexempt:medexempt@127.0.0.1:5432/medexempt_test"

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
ls /usr/lib/*/ossl-modules/gostprov.so >/dev/null 2>&1 || missing+=(libengine-gost-openssl)
if [ ${#missing[@]} -gt 0 ]; then
    if can_install; then
        echo "installing ${missing[*]} ..."
        export DEBIAN_FRONTEND=noninteractive
        # Another apt may hold the lock (an unattended upgrade): wait for it rather than fail.
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
        # Debian starts the packaged nginx on port 80; the tests run their own.
        if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
    else
        echo "note: ${missing[*]} not installed and cannot be installed here; those tests will skip" >&2
        exit 0
    fi
fi

if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
    if can_install; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
        pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >/dev/null
        pg_ctlcluster "$version" main start
    else
        echo "note: PostgreSQL is not running and cannot be started here; its tests will skip" >&2
        exit 0
    fi
fi
if [ "$(id -u)" = 0 ]; then
    as_postgres() { su postgres -c "$1"; }
    as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'medexempt'\"" | grep -q 1 \
        || as_postgres "psql -qc \"CREATE USER medexempt PASSWORD 'medexempt' SUPERUSER\""
    as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'medexempt_test'\"" | grep -q 1 \
        || as_postgres "createdb -O medexempt medexempt_test"
fi
echo "PostgreSQL for tests: $PG_URL"
