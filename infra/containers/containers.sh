#!/usr/bin/env bash
# Container tooling for the tests and CI (README.md, "Air-gapped build"):
#
#   infra/containers/containers.sh up        install (apt) and start a container engine if none
#                                            answers; prints `started` or `running` last
#   infra/containers/containers.sh images    the images the Dockerfiles (node) and compose.yaml
#                                            (Kafka, MinIO) need: pulled, or built as stand-ins
#   infra/containers/containers.sh compose   `docker compose`: Compose v2 built from the Go module
#                                            proxy and linked in as a CLI plugin when missing
#   infra/containers/containers.sh down      stop the engine `up` started (nothing else)
#   infra/containers/containers.sh status
#
# Builds are cached in ~/.cache/mirrorlog/containers (MIRRORLOG_CONTAINERS_CACHE), so
# they happen once per machine. Runtime state lives in /run/mirrorlog-containers.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$REPO_ROOT/infra/containers"
STANDIN_DIR="$HERE/standin"
STACK_CACHE_DIR=${MIRRORLOG_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mirrorlog}
CACHE_DIR=${MIRRORLOG_CONTAINERS_CACHE:-$STACK_CACHE_DIR/containers}
STATE_DIR=${MIRRORLOG_CONTAINERS_STATE:-/run/mirrorlog-containers}

log() { printf 'containers: %s\n' "$*" >&2; }
die() {
  printf 'containers: %s\n' "$*" >&2
  exit 1
}

source "$HERE/lib/engine.sh"
source "$HERE/lib/base-images.sh"
source "$HERE/lib/go-tools.sh"
source "$HERE/lib/compose-images.sh"

mkdir -p "$CACHE_DIR" "$STATE_DIR"
case ${1:-} in
  up) engine_up ;;
  down) engine_down ;;
  status) engine_status ;;
  images)
    engine_answers || die "no container engine answers (run: infra/containers/containers.sh up)"
    node_standin
    kafka_standin
    minio_standin
    ;;
  compose) compose_plugin ;;
  *)
    sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
