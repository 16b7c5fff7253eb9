#!/bin/sh
# As in the MinIO image: arguments that are not a command are minio's (`server /data`).
set -e
if [ "$1" != "minio" ] && ! command -v "$1" >/dev/null 2>&1; then
  set -- minio "$@"
fi
exec "$@"
