# Go programs the container tooling builds from the Go module proxy, once per machine:
# Compose v2 (Debian's docker-compose 1.29 rejects compose.yaml's top-level `name:`) and,
# for the S3 stand-in image, MinIO and its `mc` client. Each build lands in its own
# versioned directory of the cache, written under a temporary name and renamed when
# complete (with the `.complete` marker infra/stack/install.ts uses), so an interrupted
# build is never taken for a finished one.
# Sourced by infra/containers/containers.sh (it sets CACHE_DIR and defines log/die).

COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_VERSION=v2.40.3
# MinIO's and mc's release tags are not semver: these pseudo-versions pin the sources.
# MinIO's is the one the local stack's `--s3 minio` builds, so the two share one build.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_MODULE=github.com/minio/mc
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9

# go_build <install dir> <module> <version> <package dir> <binary> [ldflags]: builds once
# into <dir>/bin. The build runs inside the downloaded module, so its go.mod applies as
# written: `go install module@version` refuses modules with replace or exclude directives.
go_build() {
  local dir=$1 module=$2 version=$3 package=$4 binary=$5 ldflags="-s -w ${6:-}"
  if [[ -e $dir/.complete ]]; then
    return 0
  fi
  command -v go >/dev/null || die "building $module needs Go 1.24 or newer (https://go.dev/doc/install)"
  local temp="$dir.partial-$$" started=$SECONDS source
  rm -rf "$temp"
  mkdir -p "$temp/bin"
  log "building $module@$version with $(go env GOVERSION) (minutes on two cores; cached in $dir)"
  # Plain module mode whatever the caller's settings; nice: the machine may be shared.
  local -a goenv=(env -u GOFLAGS GOWORK=off GO111MODULE=on CGO_ENABLED=0)
  source=$("${goenv[@]}" go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n $source ]] || die "go mod download $module@$version printed no module directory"
  if ! (cd "$source" && "${goenv[@]}" nice -n 10 go build -trimpath -buildvcs=false -ldflags="$ldflags" \
    -o "$temp/bin/$binary" "$package" >"$temp/build.log" 2>&1); then
    tail -n 20 "$temp/build.log" >&2
    die "building $module@$version failed (log: $temp/build.log)"
  fi
  date -u +%FT%TZ >"$temp/.complete"
  rm -rf "$dir"
  mv "$temp" "$dir"
  log "built $binary in $((SECONDS - started)) s"
}

compose_binary() {
  local dir="$CACHE_DIR/compose-$COMPOSE_VERSION"
  go_build "$dir" "$COMPOSE_MODULE" "$COMPOSE_VERSION" ./cmd docker-compose \
    "-X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION"
  printf '%s\n' "$dir/bin/docker-compose"
}

minio_binary() {
  # The local stack's cache directory for the same version (infra/stack), when it built it.
  local dir="$STACK_CACHE_DIR/minio-$MINIO_VERSION"
  go_build "$dir" "$MINIO_MODULE" "$MINIO_VERSION" . minio
  printf '%s\n' "$dir/bin/minio"
}

mc_binary() {
  local dir="$CACHE_DIR/mc-$MC_VERSION"
  go_build "$dir" "$MC_MODULE" "$MC_VERSION" . mc
  printf '%s\n' "$dir/bin/mc"
}

# `docker compose`: the plugin already there, or Compose v2 built here and linked into the
# CLI's system plugin directory.
compose_plugin() {
  if docker compose version >/dev/null 2>&1; then
    return 0
  fi
  local binary plugin_dir=/usr/local/lib/docker/cli-plugins
  binary=$(compose_binary)
  [[ -w ${plugin_dir%/*/*} || $(id -u) == 0 ]] || die "installing the compose plugin into $plugin_dir needs root"
  mkdir -p "$plugin_dir"
  ln -sfn "$binary" "$plugin_dir/docker-compose"
  docker compose version >/dev/null || die "docker compose does not run after linking $binary into $plugin_dir"
  log "docker compose: $($binary version --short) linked into $plugin_dir"
}
