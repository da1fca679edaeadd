#!/usr/bin/env bash
# End-to-end check of the Docker Compose deployment (deploy/docker-compose.yml) on a machine with a Docker engine.
# Not part of CI. Without an engine it prints "skipped: no Docker engine" and exits 0.
#
# It brings the whole stack up (QuestDB, schema, exporter, Grafana, and the demo daemon of profile demo) as a
# separate project with random passwords and free loopback ports, waits until it is healthy, then checks through
# Grafana's HTTP API: the QuestDB datasource is healthy, every provisioned dashboard exists, the provisioned alert
# rules are loaded, and a metric written to QuestDB over ILP/HTTP comes back through the datasource's query API,
# as do the exporter's and the daemon's rows. Then a test notification through Grafana's Alertmanager (receivers
# test API) to the provisioned alert-history contact point and to a local webhook sink on the compose network: it
# must arrive at the sink and land in tw_alert_events. Everything is removed at the end (down -v), unless KEEP=1.
#
#   bash scripts/e2e-compose.sh            # KEEP=1 leaves the stack running; TIMEOUT=600 (seconds) to start
set -euo pipefail

# Exported variables override --env-file in compose: a developer's QUESTDB_* would silently change the stack under
# test. Run again in a clean environment that keeps only what docker and this script need.
if [[ -z "${E2E_CLEAN_ENV:-}" ]]; then
  exec env -i E2E_CLEAN_ENV=1 PATH="$PATH" HOME="${HOME:-/tmp}" TERM="${TERM:-dumb}" \
    ${DOCKER_HOST:+DOCKER_HOST="$DOCKER_HOST"} ${DOCKER_CONTEXT:+DOCKER_CONTEXT="$DOCKER_CONTEXT"} \
    ${DOCKER_CONFIG:+DOCKER_CONFIG="$DOCKER_CONFIG"} ${KEEP:+KEEP="$KEEP"} ${TIMEOUT:+TIMEOUT="$TIMEOUT"} \
    bash "${BASH_SOURCE[0]}" "$@"
fi

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
[[ -d "$repo_root/node_modules/yaml" ]] || die "the repository's node_modules are missing: run 'npm ci' in $repo_root first"
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

# A project-unique tag for the images built here: with the compose file's fixed tag, --build would retag the host's
# shared tradewatch image with this working tree, and a production stack on the same host would run it at its next up.
image="tradewatch-e2e:$project"
override="$work/e2e.override.yml"
(cd "$repo_root" && node --input-type=module -e "
  import fs from 'node:fs'; import { parse } from 'yaml';
  const doc = parse(fs.readFileSync('deploy/docker-compose.yml', 'utf8'), { merge: true });
  const built = Object.entries(doc.services).filter(([, s]) => s.build).map(([name]) => name);
  process.stdout.write('services:\\n' + built.map((n) => '  ' + n + ':\\n    image: ' + process.argv[1] + '\\n').join(''));" "$image") >"$override"
compose() { docker compose -p "$project" -f "$compose_file" -f "$override" --env-file "$env_file" --profile demo "$@"; }

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
    docker rm -f "$project-sink" >/dev/null 2>&1 || true
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    docker image rm "$image" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit $status
}
trap cleanup EXIT

# --- up ------------------------------------------------------------------------------------------------------------
# One deadline for everything below, so the waits cannot add up to more than TIMEOUT.
deadline=$((SECONDS + timeout_s))
remaining() { local r=$((deadline - SECONDS)); ((r > 0)) && echo "$r" || echo 1; }
say "starting project $project (QuestDB 127.0.0.1:$qdb_port, Grafana 127.0.0.1:$grafana_port, image $image)"
for attempt in 1 2 3; do
  # --wait reports one-shot services (schema, alerting) as failures on some Compose versions; the loop below decides.
  if up_log="$(compose up -d --build --wait --wait-timeout "$(remaining)" 2>&1)"; then break; fi
  # A free port picked above can be taken before compose binds it: pick new ones and try again.
  if grep -qiE 'port is already allocated|address already in use' <<<"$up_log" && ((attempt < 3)); then
    say "a port was taken meanwhile; picking new ports (attempt $((attempt + 1)))"
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    qdb_port="$(free_port)"; grafana_port="$(free_port)"
    sed -i -e "s/^QUESTDB_HTTP_PORT=.*/QUESTDB_HTTP_PORT=$qdb_port/" -e "s/^QUESTDB_PG_PORT=.*/QUESTDB_PG_PORT=$(free_port)/" \
      -e "s/^GRAFANA_PORT=.*/GRAFANA_PORT=$grafana_port/" -e "s#^GRAFANA_ROOT_URL=.*#GRAFANA_ROOT_URL=http://127.0.0.1:$grafana_port/#" "$env_file"
    continue
  fi
  say "'up --wait' reported a problem; checking each service"
  printf '%s\n' "$up_log" | tail -n 20 >&2
  break
done

state_of() { # $1 = service → "status health exitcode restarts"
  local id
  id="$(compose ps -a -q "$1" | head -n1)"
  [[ -n "$id" ]] || { echo "missing - - 0"; return; }
  docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.State.ExitCode}} {{.RestartCount}}' "$id"
}

one_shots="schema alerting"
long_running="questdb grafana daemon exporter compactor alert-history"
with_health="questdb grafana daemon alert-history"
while :; do
  ready=1
  for svc in $one_shots; do
    read -r status _ code _ <<<"$(state_of "$svc")"
    [[ "$status" == exited && "$code" != 0 ]] && die "$svc exited with $code"
    [[ "$status" == exited ]] || ready=0
  done
  for svc in $long_running; do
    read -r status health _ restarts <<<"$(state_of "$svc")"
    # restart: unless-stopped turns a crash into 'restarting', never 'exited': catch the loop at once.
    [[ "$status" == restarting || "${restarts:-0}" -gt 0 ]] && die "$svc is in a crash loop ($status, restarted ${restarts:-?} times)"
    [[ "$status" == exited || "$health" == unhealthy ]] && die "$svc is $status/$health"
    [[ "$status" == running ]] || ready=0
    [[ " $with_health " == *" $svc "* && "$health" != healthy ]] && ready=0
  done
  [[ $ready == 1 ]] && break
  ((SECONDS < deadline)) || die "the stack was not healthy within ${timeout_s}s: $(for s in $one_shots $long_running; do printf '%s=%s ' "$s" "$(state_of "$s" | tr ' ' /)"; done)"
  sleep 3
done
say "ok: every service is up (schema and alerting done, questdb/grafana/daemon/alert-history healthy, exporter and compactor running, no restarts)"

# --- Grafana API -----------------------------------------------------------------------------------------------------
grafana="http://127.0.0.1:$grafana_port"
api() { curl -fsS -u "admin:$grafana_password" -H 'Content-Type: application/json' "$@"; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);process.stdout.write(String((${1})(j)))})"; }
retry() { # $1 = seconds, rest = command; retries until it succeeds (never past the overall deadline)
  local until=$((SECONDS + $1)); shift
  ((until > deadline)) && until=$deadline
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

# What the alerting service generated (the same command, same environment), against what Grafana actually loaded.
expected="$work/alerting-expected"
(cd "$repo_root" && set -a && . "$env_file" && set +a && node packages/cli/bin/tradewatch.js grafana generate --alerting-only --from-env --root "$expected" >/dev/null) \
  || die "cannot generate the expected alerting provisioning"
alerting_dir="$expected/deploy/grafana/provisioning/alerting"
yaml_list() { # $1 = file, $2 = JS expression over the parsed file → sorted lines
  (cd "$repo_root" && node --input-type=module -e "
    import fs from 'node:fs'; import { parse } from 'yaml';
    const f = process.argv[1]; const doc = fs.existsSync(f) ? parse(fs.readFileSync(f, 'utf8')) : {};
    process.stdout.write([...new Set((${2})(doc ?? {}))].sort().join('\\n'));" "$1")
}
api_list() { # $1 = path, $2 = JS expression over the answer → sorted lines
  api "$grafana$1" | json "j => [...new Set((${2})(j))].sort().join('\\n')"
}
want_rules="$(yaml_list "$alerting_dir/rules.yaml" 'd => (d.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.uid))')"
[[ -n "$want_rules" ]] || die "no alert rules were generated"
have_rules="$(api_list /api/v1/provisioning/alert-rules 'j => j.map((r) => r.uid)')"
[[ "$have_rules" == "$want_rules" ]] || die "alert rules loaded by Grafana differ from those generated:$(diff <(echo "$want_rules") <(echo "$have_rules") | tr '\n' ' ')"
say "ok: Grafana loaded exactly the $(wc -l <<<"$want_rules") generated alert rules"
want_points="$(yaml_list "$alerting_dir/contact-points.yaml" 'd => (d.contactPoints ?? []).map((c) => c.name)')"
have_points="$(api_list /api/v1/provisioning/contact-points 'j => j.map((c) => c.name)')"
for name in $want_points; do grep -qxF "$name" <<<"$have_points" || die "contact point $name was generated but not loaded (loaded: $have_points)"; done
want_receiver="$(yaml_list "$alerting_dir/policies.yaml" 'd => (d.policies ?? []).map((p) => p.receiver)')"
have_receiver="$(api_list /api/v1/provisioning/policies 'j => [j.receiver]')"
[[ -z "$want_receiver" || "$have_receiver" == "$want_receiver" ]] || die "notification policy receiver is $have_receiver, generated $want_receiver"
say "ok: contact points ($(echo $want_points)) and the notification policy (${have_receiver}) are Grafana's"
read -r status _ _ restarts <<<"$(state_of grafana)"
[[ "$status" == running && "${restarts:-0}" == 0 ]] || die "grafana is $status after $restarts restarts"

# --- security properties ---------------------------------------------------------------------------------------------
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$qdb_port/exec?query=select%201")"
[[ "$code" == 401 ]] || die "QuestDB answered $code without credentials (expected 401)"
say "ok: QuestDB refuses requests without credentials (401)"

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

write_refused() {
  local body answer
  body="$(node -e 'process.stdout.write(JSON.stringify({from: "now-1h", to: "now", queries: [{refId: "A",
    datasource: {uid: process.argv[1], type: "questdb-questdb-datasource"}, queryType: "sql",
    rawSql: "INSERT INTO tw_metrics (ts, name, service, instance, kind, source, labels, value) VALUES (now(), '"'"'e2e_write'"'"', '"'"'e2e'"'"', '"'"'e2e'"'"', '"'"'gauge'"'"', '"'"'e2e'"'"', '"'"''"'"', 1)",
    format: 1}]}))' "$ds_uid")"
  answer="$(api -X POST "$grafana/api/ds/query" -d "$body" 2>&1 || true)"
  grep -qiE 'read.?only|permission|denied|not allowed|error' <<<"$answer" || die "the read-only PG user could write: $answer"
  [[ -z "$(query "SELECT value FROM tw_metrics WHERE name = 'e2e_write'")" ]] || die "a write through the read-only user was stored"
}
write_refused
say "ok: Grafana's read-only PG user is refused a write"

positive() { local n; n="$(query "$1")"; [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0)); }
retry 90 positive "SELECT count() FROM tw_metrics WHERE service = 'questdb' AND name = 'up'" \
  || die "no rows from the exporter (QuestDB's /metrics) in tw_metrics"
say "ok: the exporter scrapes QuestDB's metrics into tw_metrics"
retry 120 positive "SELECT count() FROM tw_fetches" || die "no rows from the demo daemon in tw_fetches"
say "ok: the demo daemon writes tw_fetches"
# The exporter reaches the daemon's /metrics by service name (writerLag and daemonDown read these scrapes).
retry 90 positive "SELECT count() FROM tw_metrics WHERE service = 'daemon' AND name = 'tradewatch_process_info'" \
  || die "no scrape of the daemon's /metrics (daemon:9464) in tw_metrics"
say "ok: the exporter scrapes the daemon's /metrics"

# --- a test notification: Grafana → the alert-history receiver (tw_alert_events) and a local webhook sink ------------
# The sink: a one-off container of the tradewatch image on the project's network (reachable by Grafana by name),
# printing every request it gets.
sink="$project-sink"
compose run -d --no-deps --name "$sink" --entrypoint node alerting -e "
  require('node:http').createServer((q, s) => { let b = ''; q.on('data', (d) => (b += d)).on('end', () => {
    console.log('SINK ' + q.method + ' ' + q.url + ' ' + b.replace(/\\s+/g, ' ')); s.end('ok'); }); }).listen(9099);" >/dev/null \
  || die "cannot start the webhook sink"
# The provisioned history contact point as Grafana holds it (its uid, so Grafana uses its stored settings), and the sink.
history_receiver="$(api "$grafana/api/alertmanager/grafana/config/api/v1/alerts" \
  | json 'j => JSON.stringify((j.alertmanager_config.receivers ?? []).find((r) => r.name === "tradewatch-history") ?? "")')"
[[ "$history_receiver" != '""' ]] || die "Grafana has no tradewatch-history contact point"
test_body="$(node -e '
  const [history, sink, probe] = process.argv.slice(1);
  process.stdout.write(JSON.stringify({
    alert: { labels: { e2e_probe: probe, severity: "warning" }, annotations: { summary: "tradewatch e2e test notification" } },
    receivers: [JSON.parse(history), { name: "e2e-sink", grafana_managed_receiver_configs: [
      { name: "e2e-sink", type: "webhook", disableResolveMessage: false, settings: { url: "http://" + sink + ":9099/e2e" }, secureSettings: {} }] }],
  }));' "$history_receiver" "$sink" "$project")"
sink_up() { [[ "$(docker inspect -f '{{.State.Running}}' "$sink" 2>/dev/null)" == true ]]; }
retry 30 sink_up || die "the webhook sink is not running: $(docker logs "$sink" 2>&1 | tail -5)"
sent() { # every integration of both receivers answered ok
  local answer
  answer="$(api -X POST "$grafana/api/alertmanager/grafana/config/api/v1/receivers/test" -d "$test_body" 2>&1)" || return 1
  [[ "$(json 'j => j.receivers.flatMap((r) => r.grafana_managed_receiver_configs).every((c) => c.status === "ok") ? "ok" : "no"' <<<"$answer")" == ok ]]
}
retry 60 sent || die "Grafana's test notification failed: $(api -X POST "$grafana/api/alertmanager/grafana/config/api/v1/receivers/test" -d "$test_body" 2>&1 || true)"
arrived() { docker logs "$sink" 2>&1 | grep -F 'SINK POST /e2e' | grep -qF "$project"; }
retry 30 arrived || die "the test notification did not reach the webhook sink: $(docker logs "$sink" 2>&1 | tail -5)"
say "ok: Grafana's test notification reached the local webhook sink"
retry 60 positive "SELECT count() FROM tw_alert_events WHERE labels LIKE '%e2e_probe=\"$project\"%'" \
  || die "the test notification is not in tw_alert_events (alert-history: $(compose logs --no-color --tail 20 alert-history 2>&1 | tr '\n' ' '))"
say "ok: the test notification landed in the alert history (tw_alert_events)"

say "passed"
