#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the servers the integration tests use, on 127.0.0.1:
# RabbitMQ (5672, guest/guest) and PostgreSQL (5432, role and database "contextmiddleware"). Idempotent: safe to run on a
# developer's machine again and again (as root, or with sudo).
set -euo pipefail
SUDO=""
AS_POSTGRES="runuser -u postgres --"
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; AS_POSTGRES="sudo -u postgres"; fi

missing=()
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -ne 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! $SUDO rabbitmqctl status >/dev/null 2>&1; then
  $SUDO rabbitmq-server -detached
fi
# await_startup fails at once while the node is not yet reachable: retry for up to two minutes.
for i in $(seq 1 60); do
  if $SUDO timeout 60 rabbitmqctl await_startup >/dev/null 2>&1; then break; fi
  if [ "$i" -eq 60 ]; then echo "RabbitMQ did not start; see /var/log/rabbitmq." >&2; exit 1; fi
  sleep 2
done

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
$SUDO pg_ctlcluster $cluster start 2>/dev/null || true
for _ in $(seq 1 30); do
  if $AS_POSTGRES psql -qAtc 'select 1' >/dev/null 2>&1; then break; fi
  sleep 1
done
$AS_POSTGRES psql -qAtc "select 1 from pg_roles where rolname = 'contextmiddleware'" | grep -q 1 ||
  $AS_POSTGRES psql -qc "create role contextmiddleware login password 'contextmiddleware'"
$AS_POSTGRES psql -qAtc "select 1 from pg_database where datname = 'contextmiddleware'" | grep -q 1 ||
  $AS_POSTGRES psql -qc "create database contextmiddleware owner contextmiddleware"
echo "RabbitMQ on 127.0.0.1:5672 and PostgreSQL on 127.0.0.1:5432 are up."
