#!/usr/bin/env bash
# `make bi-up`: Superset on 127.0.0.1:$BI_PORT on the serving file, with the case-study
# dashboard. The first run creates Superset's metadata database, a SECRET_KEY and an admin
# password under $SHOPFUNNEL_SUPERSET_HOME (default data/superset, files mode 0600).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${BI_PORT:-8088}"
home="${SHOPFUNNEL_SUPERSET_HOME:-data/superset}"
serve="${SHOPFUNNEL_SERVE_PATH:-data/serve/shopfunnel.duckdb}"
superset=".venv-bi/bin/superset"
[ -f "$serve" ] || { echo "error: $serve does not exist: run make demo (it publishes)" >&2; exit 1; }
mkdir -p "$home"
umask 077
[ -s "$home/secret_key" ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(42))' > "$home/secret_key"
[ -s "$home/admin_password" ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' > "$home/admin_password"
password="$(cat "$home/admin_password")"
export SUPERSET_CONFIG_PATH="$PWD/bi/superset_config.py"
export SUPERSET_SECRET_KEY="$(cat "$home/secret_key")"
export SHOPFUNNEL_SUPERSET_HOME="$home"
if [ ! -f "$home/superset.db" ]; then
    "$superset" db upgrade
    "$superset" fab create-admin --username admin --firstname BI --lastname Admin \
        --email admin@localhost --password "$password"
    "$superset" init
fi
"$superset" run -h 127.0.0.1 -p "$port" --with-threads &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 120); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 1
done
.venv/bin/python bi/provision.py --url "http://127.0.0.1:$port" --password "$password" \
    --serve-path "$serve" --manifest target/manifest.json --out "$home/provisioned.json" >/dev/null
echo
echo "Superset: http://127.0.0.1:$port/superset/dashboard/shopfunnel-case-study/"
echo "  user admin, password in $home/admin_password; Ctrl-C stops it"
wait $server
