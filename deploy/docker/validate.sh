#!/usr/bin/env bash
# Static checks of the container deployment (no Docker daemon needed):
#   deploy/docker/validate.sh
# - YAML of the compose file and of the Prometheus/Grafana files parses; the dashboard JSON parses
# - promtool (Debian: apt-get install prometheus) checks prometheus.yml, the rules, and runs the rule unit tests
# - `docker compose config` parses docker-compose.yml, when the compose plugin is installed
# A tool that is missing is reported and skipped; any failed check makes the exit status 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

failed=0
run() { # description, command...
    local what=$1
    shift
    if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failed=1; fi
}
skip() { echo "skip  $1"; }
# shellcheck disable=SC2317  # called through run
quiet() { "$@" >/dev/null; } # keep a passing tool's own output out of the summary

yaml_files=(docker-compose.yml deploy/prometheus/prometheus.yml deploy/prometheus/rules/*.yml
    deploy/prometheus/tests/*.yml deploy/grafana/provisioning/*/*.yml)
if python3 -c 'import yaml' 2>/dev/null; then
    run "YAML parses" python3 -c 'import sys, yaml
for f in sys.argv[1:]:
    yaml.safe_load(open(f))' "${yaml_files[@]}"
else
    skip "YAML parse (python3 has no PyYAML)"
fi

for f in deploy/grafana/dashboards/*.json; do
    run "JSON parses: $f" quiet python3 -m json.tool "$f"
done

if command -v promtool >/dev/null 2>&1; then
    run "promtool check config" quiet promtool check config deploy/prometheus/prometheus.yml
    run "promtool check rules" quiet promtool check rules deploy/prometheus/rules/*.yml
    run "promtool test rules" quiet promtool test rules deploy/prometheus/tests/*.test.yml
else
    skip "promtool checks (apt-get install prometheus)"
fi

if docker compose version >/dev/null 2>&1; then
    run "docker compose config" docker compose --profile cli config --quiet
else
    skip "docker compose config (no compose plugin)"
fi

exit "$failed"
