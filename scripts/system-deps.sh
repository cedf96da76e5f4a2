#!/usr/bin/env bash
# Installs the system packages the test suite needs when they are missing:
# a Java runtime for Spark's local mode, and Chromium to render the appeal report
# headless with a CJK font (tests/explain/test_appeal_report.py), and a PostgreSQL
# server the database tests start on loopback (tests/conftest.py).
set -euo pipefail
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
# a CJK font, so the rendered Chinese text is legible in report screenshots
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (Spark / report-rendering / database tests will be skipped)" >&2
  fi
fi
