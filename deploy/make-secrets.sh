#!/usr/bin/env bash
# Writes the compose stack's secrets into deploy/secrets/ (kept out of git by .gitignore):
# random keys and passwords, and the two connection URLs built from them. Existing files are
# kept, so rerunning never rotates a secret by accident (the key pepper must never change
# once keys are stored: delete deploy/secrets/ only together with the postgres-data volume).
#
#   deploy/make-secrets.sh && docker compose up --build
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets

random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# put NAME VALUE: writes secrets/NAME unless it exists. 0644 inside the 0700 folder: each
# image runs as its own non-root user (gateway 65532, prometheus 65534, grafana 472, ...) and
# compose bind-mounts file secrets with the host's owner and mode.
put() {
  if [[ ! -s secrets/$1 ]]; then
    printf '%s\n' "$2" > "secrets/$1"
    echo "wrote deploy/secrets/$1"
  fi
  chmod 644 "secrets/$1"
}

put master_key "$(random)"
put key_pepper "$(random)"
put demo_key "$(random)"
put mock_provider_key "mock-accepts-any-value"
put postgres_password "$(random)"
put redis_password "$(random)"
put grafana_admin_password "$(random)"
put postgres_url "postgres://portcullis:$(tr -d '\n' < secrets/postgres_password)@postgres:5432/portcullis"
put redis_url "redis://:$(tr -d '\n' < secrets/redis_password)@redis:6379/0"
put redis.conf "$(printf 'requirepass %s\nsave ""\nappendonly no\nprotected-mode yes\nbind * -::*\n' "$(tr -d '\n' < secrets/redis_password)")"
echo "deploy/secrets/ is ready; Grafana: admin / $(pwd)/secrets/grafana_admin_password"
