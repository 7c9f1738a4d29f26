#!/usr/bin/env python3
"""The PromQL of the shipped Grafana dashboards, for checking it.

  dashboard_queries.py --rules DASHBOARD.json...
      prints a Prometheus rules file with every query as a recording rule, so that
      `promtool check rules` parses each one offline (scripts/check-ops.sh).
  dashboard_queries.py --check PROMETHEUS_URL --allow ALLOW_FILE DASHBOARD.json...
      runs every query against a live Prometheus (its HTTP API) and fails when one returns no
      data, unless ALLOW_FILE names it with a reason (scripts/topology.sh).

Grafana's built-in variables are replaced by fixed values a test Prometheus can answer:
$__rate_interval and $__interval by 1m, $__range by 5m.

ALLOW_FILE: one query per line, `Panel title :: refId :: reason`; `#` starts a comment.
Standard library only.
"""

import argparse
import json
import sys
import urllib.parse
import urllib.request

SUBSTITUTIONS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "5m"}


def queries(paths):
    """Yields (dashboard title, panel title, refId, expr) for every Prometheus target."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
        stack = list(dash.get("panels", []))
        while stack:
            panel = stack.pop(0)
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                expr = target.get("expr")
                if not expr:
                    continue
                for k, v in SUBSTITUTIONS.items():
                    expr = expr.replace(k, v)
                if "$" in expr:
                    sys.exit(f"{path}: panel {panel.get('title')!r} uses an unknown variable: {expr}")
                yield dash.get("title", path), panel.get("title", "?"), target.get("refId", "?"), expr


def rules(paths):
    group = [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, (_, _, _, expr) in enumerate(queries(paths))
    ]
    # JSON is YAML; promtool reads it as a rules file.
    print(json.dumps({"groups": [{"name": "dashboard-queries", "rules": group}]}, indent=1))


def load_allow(path):
    allowed = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = [p.strip() for p in line.split("::")]
            if len(parts) != 3 or not parts[2]:
                sys.exit(f"{path}:{n}: expected `Panel title :: refId :: reason`")
            allowed[(parts[0], parts[1])] = parts[2]
    return allowed


def check(url, allow_path, paths):
    allowed = load_allow(allow_path)
    failed, empty_ok, ok = [], [], 0
    for _, title, ref, expr in queries(paths):
        q = urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
                body = json.load(r)
        except Exception as e:  # noqa: BLE001 - any failure is reported with the query
            failed.append(f"{title} / {ref}: query failed: {e}\n    {expr}")
            continue
        if body.get("status") != "success":
            failed.append(f"{title} / {ref}: {body.get('error')}\n    {expr}")
        elif body["data"]["result"]:
            ok += 1
        elif (title, ref) in allowed:
            empty_ok.append(f"{title} / {ref}: empty, allowed: {allowed[(title, ref)]}")
        else:
            failed.append(f"{title} / {ref}: no data\n    {expr}")
    for line in empty_ok:
        print("  " + line)
    print(f"dashboard queries: {ok} with data, {len(empty_ok)} allowed empty, {len(failed)} failed")
    for line in failed:
        print("  FAIL " + line)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", action="store_true")
    ap.add_argument("--check", metavar="PROMETHEUS_URL")
    ap.add_argument("--allow", metavar="ALLOW_FILE")
    ap.add_argument("dashboards", nargs="+")
    args = ap.parse_args()
    if args.rules:
        rules(args.dashboards)
        return 0
    if args.check and args.allow:
        return check(args.check.rstrip("/"), args.allow, args.dashboards)
    ap.error("give --rules, or --check URL --allow FILE")
    return 2


if __name__ == "__main__":
    sys.exit(main())
