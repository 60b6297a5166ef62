#!/bin/sh
# Container entrypoint for every Ketenpoort role.
#
# For the gateway role (`ketenpoort serve ...`) on an instance without a keyring yet (a gateway
# started on its own, `docker run`, the first time) it first runs `ketenpoort init`: keyring and
# schema. Otherwise it migrates nothing: migrations run once, as a job (`ketenpoort init` or
# `ketenpoort db upgrade`; the `init` service of compose.yaml), and `ketenpoort serve` refuses to
# start on a schema older than its release. Then it exec's the command, so the process receives
# signals directly (docker stop -> SIGTERM -> gunicorn/celery graceful shutdown).
set -eu

if [ "$#" -eq 0 ]; then
    set -- ketenpoort serve --host 0.0.0.0 --port 8080
fi

keyring="${KETENPOORT_INSTANCE:-/var/lib/ketenpoort}/keyring.json"
if [ "$1" = "ketenpoort" ] && [ "${2:-}" = "serve" ] && [ ! -e "$keyring" ]; then
    ketenpoort init
fi

exec "$@"
