#!/bin/sh
# Container entrypoint for every Ketenpoort role.
#
# For the gateway role (`ketenpoort serve ...`) it first runs `ketenpoort init`, which is
# idempotent: it creates the instance keyring only when missing and brings the database schema
# to the latest migration. Then it exec's the command, so the process receives signals directly
# (docker stop -> SIGTERM -> gunicorn/celery graceful shutdown).
#
# In compose.yaml a one-shot `init` service runs first and every other role waits for it, so
# that concurrently starting replicas never race to create two different keyrings; the init
# below is then a no-op that guards a gateway started on its own (docker run).
set -eu

if [ "$#" -eq 0 ]; then
    set -- ketenpoort serve --host 0.0.0.0 --port 8080
fi

if [ "$1" = "ketenpoort" ] && [ "${2:-}" = "serve" ]; then
    ketenpoort init
fi

exec "$@"
