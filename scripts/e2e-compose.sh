#!/usr/bin/env bash
# End-to-end check of the Docker Compose deployment (deploy/docker-compose.yml) on a machine with a Docker engine.
# Not part of CI. Without an engine it prints "skipped: no Docker engine" and exits 0.
#
# It brings the whole stack up (QuestDB, schema, exporter, Grafana, and the demo daemon of profile demo) as a
# separate project with random passwords and free loopback ports, waits until it is healthy, then checks through
# Grafana's HTTP API: the QuestDB datasource is healthy, every provisioned dashboard exists, the provisioned alert
# rules are loaded, and a metric written to QuestDB over ILP/HTTP comes back through the datasource's query API,
# as do the exporter's and the daemon's rows. Everything is removed at the end (down -v), unless KEEP=1.
#
#   bash scripts/e2e-compose.sh            # KEEP=1 leaves the stack running; TIMEOUT=600 (seconds) to start
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_file="$repo_root/deploy/docker-compose.yml"
provisioning="$repo_root/deploy/grafana/provisioning"
timeout_s="${TIMEOUT:-600}"

say() { printf 'e2e-compose: %s\n' "$*"; }
die() { printf 'e2e-compose: FAILED: %s\n' "$*" >&2; exit 1; }

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  say "skipped: no Docker engine"
  exit 0
fi
docker compose version >/dev/null 2>&1 || die "the Docker engine is there but not the Compose plugin ('docker compose'); install Compose >= 2.20"
for tool in curl node; do command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed"; done
[[ -d "$provisioning/datasources" ]] || die "deploy/grafana/provisioning is missing: run 'tradewatch grafana generate' first"

# --- a throw-away project: random URL-safe passwords, free loopback ports ---------------------------------------
project="tradewatch-e2e-$$"
work="$(mktemp -d)"
env_file="$work/e2e.env"
secret() { node -e "process.stdout.write(require('node:crypto').randomBytes(18).toString('hex'))"; }
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"; }

qdb_user=tradewatch
qdb_password="$(secret)"
grafana_password="$(secret)"
qdb_port="$(free_port)"
grafana_port="$(free_port)"
while IFS= read -r line; do
  case "$line" in
    QUESTDB_HTTP_PASSWORD=*) echo "QUESTDB_HTTP_PASSWORD=$qdb_password" ;;
    QUESTDB_PG_PASSWORD=* | QUESTDB_READONLY_PASSWORD=*) echo "${line%%=*}=$(secret)" ;;
    GRAFANA_ADMIN_PASSWORD=*) echo "GRAFANA_ADMIN_PASSWORD=$grafana_password" ;;
    QUESTDB_HTTP_USER=*) echo "QUESTDB_HTTP_USER=$qdb_user" ;;
    QUESTDB_HTTP_PORT=*) echo "QUESTDB_HTTP_PORT=$qdb_port" ;;
    QUESTDB_PG_PORT=*) echo "QUESTDB_PG_PORT=$(free_port)" ;;
    GRAFANA_PORT=*) echo "GRAFANA_PORT=$grafana_port" ;;
    GRAFANA_ROOT_URL=*) echo "GRAFANA_ROOT_URL=http://127.0.0.1:$grafana_port/" ;;
    TRADEWATCH_EXPORTER_INTERVAL_MS=*) echo "TRADEWATCH_EXPORTER_INTERVAL_MS=2000" ;;
    *) echo "$line" ;;
  esac
done <"$repo_root/deploy/.env.example" >"$env_file"

compose() { docker compose -p "$project" -f "$compose_file" --env-file "$env_file" --profile demo "$@"; }

cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    say "logs of the failed run (last 60 lines per service):"
    compose logs --no-color --tail 60 >&2 || true
  fi
  if [[ "${KEEP:-}" == 1 ]]; then
    say "KEEP=1: left running as project $project (Grafana http://127.0.0.1:$grafana_port, env file $env_file);" \
      "remove with: docker compose -p $project -f $compose_file --env-file $env_file --profile demo down -v"
  else
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit $status
}
trap cleanup EXIT

# --- up ------------------------------------------------------------------------------------------------------------
say "starting project $project (QuestDB 127.0.0.1:$qdb_port, Grafana 127.0.0.1:$grafana_port)"
# --wait reports one-shot services (schema) as failures on some Compose versions; the loop below decides.
compose up -d --build --wait --wait-timeout "$timeout_s" || say "'up --wait' reported a problem; checking each service"

state_of() { # $1 = service → "status health exitcode"
  local id
  id="$(compose ps -a -q "$1" | head -n1)"
  [[ -n "$id" ]] || { echo "missing - -"; return; }
  docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.State.ExitCode}}' "$id"
}

deadline=$((SECONDS + timeout_s))
while :; do
  read -r schema_status _ schema_exit <<<"$(state_of schema)"
  [[ "$schema_status" == exited && "$schema_exit" != 0 ]] && die "schema apply exited with $schema_exit"
  ready=1
  [[ "$schema_status" == exited ]] || ready=0
  for svc in questdb grafana daemon; do
    read -r status health _ <<<"$(state_of "$svc")"
    [[ "$status" == running && "$health" == healthy ]] || ready=0
    [[ "$status" == exited || "$health" == unhealthy ]] && die "$svc is $status/$health"
  done
  read -r status _ _ <<<"$(state_of exporter)"
  [[ "$status" == running ]] || ready=0
  [[ $ready == 1 ]] && break
  ((SECONDS < deadline)) || die "the stack was not healthy within ${timeout_s}s: $(for s in questdb schema exporter daemon grafana; do printf '%s=%s ' "$s" "$(state_of "$s" | tr ' ' /)"; done)"
  sleep 3
done
say "ok: every service is up (schema applied, questdb/grafana/daemon healthy, exporter running)"

# --- Grafana API -----------------------------------------------------------------------------------------------------
grafana="http://127.0.0.1:$grafana_port"
api() { curl -fsS -u "admin:$grafana_password" -H 'Content-Type: application/json' "$@"; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);process.stdout.write(String((${1})(j)))})"; }
retry() { # $1 = seconds, rest = command; retries until it succeeds
  local until=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < until)) || return 1; sleep 2; done
}

ds_uid="$(sed -n 's/^[[:space:]]*uid:[[:space:]]*//p' "$provisioning/datasources/questdb.yaml" | head -n1)"
[[ -n "$ds_uid" ]] || die "no uid in provisioning/datasources/questdb.yaml"
ds_healthy() { api "$grafana/api/datasources/uid/$ds_uid/health" 2>/dev/null | json 'j => j.status' | grep -qx OK; }
retry 60 ds_healthy || die "datasource $ds_uid is not healthy: $(api "$grafana/api/datasources/uid/$ds_uid/health" 2>&1 || true)"
say "ok: datasource $ds_uid is healthy"

expected_uids="$(cd "$repo_root" && node -e "
  const fs = require('node:fs'), dir = 'deploy/grafana/provisioning/dashboards';
  const uids = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(dir + '/' + f, 'utf8')).uid);
  process.stdout.write(uids.join(' '));")"
[[ -n "$expected_uids" ]] || die "no dashboard JSON under deploy/grafana/provisioning/dashboards"
found_uids="$(api "$grafana/api/search?type=dash-db&limit=5000" | json "j => j.map((d) => d.uid).join(' ')")"
for uid in $expected_uids; do
  [[ " $found_uids " == *" $uid "* ]] || die "dashboard $uid is not in Grafana (found: $found_uids)"
done
say "ok: $(wc -w <<<"$expected_uids") dashboards provisioned ($expected_uids)"

expected_rules=0
if [[ -d "$provisioning/alerting" ]]; then
  expected_rules="$(cd "$repo_root" && node --input-type=module -e "
    import fs from 'node:fs'; import { parse } from 'yaml';
    const dir = 'deploy/grafana/provisioning/alerting'; let n = 0;
    for (const f of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      for (const g of parse(fs.readFileSync(dir + '/' + f, 'utf8'))?.groups ?? []) n += (g.rules ?? []).length;
    }
    process.stdout.write(String(n));")"
fi
rules="$(api "$grafana/api/v1/provisioning/alert-rules" | json 'j => j.length')"
((rules >= expected_rules)) || die "$rules alert rules loaded, $expected_rules provisioned"
((expected_rules > 0)) || say "warning: no alert rules are provisioned (deploy/grafana/provisioning/alerting)"
say "ok: $rules alert rules loaded ($expected_rules provisioned)"

# --- a metric in through ILP/HTTP, out through Grafana ---------------------------------------------------------------
probe_value="$((RANDOM * 1000 + RANDOM)).5"
line="tw_metrics,name=tradewatch_e2e_probe,service=e2e,instance=$project,kind=gauge,source=e2e labels=\"\",value=$probe_value $(node -e "process.stdout.write(String(BigInt(Date.now()) * 1000000n))")"
curl -fsS -u "$qdb_user:$qdb_password" --data-binary "$line" "http://127.0.0.1:$qdb_port/write?precision=n" \
  || die "ILP write to QuestDB failed"

query() { # $1 = SQL → the first column's values, comma-separated
  local body
  body="$(node -e 'process.stdout.write(JSON.stringify({from: "now-1h", to: "now", queries: [{refId: "A",
    datasource: {uid: process.argv[1], type: "questdb-questdb-datasource"}, queryType: "sql", rawSql: process.argv[2],
    format: 1, selectedFormat: 1}]}))' "$ds_uid" "$1")"
  api -X POST "$grafana/api/ds/query" -d "$body" | json 'j => (j.results.A.frames?.[0]?.data?.values?.[0] ?? []).join(",")'
}
probe_found() { [[ "$(query "SELECT value FROM tw_metrics WHERE name = 'tradewatch_e2e_probe' AND instance = '$project'")" == "$probe_value" ]]; }
retry 60 probe_found || die "the probe metric ($probe_value) did not come back through Grafana's /api/ds/query"
say "ok: metric written over ILP/HTTP read back through Grafana ($probe_value)"

positive() { local n; n="$(query "$1")"; [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0)); }
retry 90 positive "SELECT count() FROM tw_metrics WHERE service = 'questdb' AND name = 'up'" \
  || die "no rows from the exporter (QuestDB's /metrics) in tw_metrics"
say "ok: the exporter scrapes QuestDB's metrics into tw_metrics"
retry 120 positive "SELECT count() FROM tw_fetches" || die "no rows from the demo daemon in tw_fetches"
say "ok: the demo daemon writes tw_fetches"

say "passed"
