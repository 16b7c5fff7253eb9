# The server images infra/compose.yaml names (KAFKA_IMAGE, MINIO_IMAGE defaults): pulled
# where a registry answers, otherwise built here as stand-ins under the same names:
#   Kafka  Debian's JRE + the local stack's Maven jars (infra/kafka/pom.xml) + kafka-tools
#   MinIO  MinIO and mc built with Go from the module proxy at pinned pseudo-versions
# Sourced by infra/containers/containers.sh (after base-images.sh and go-tools.sh).

# The default of `${NAME:-default}` in compose.yaml.
compose_default() {
  local value
  value=$(grep -o "\${$1:-[^}]*}" "$REPO_ROOT/infra/compose.yaml" | head -n 1 | sed "s/^\${$1:-\(.*\)}$/\1/")
  [[ -n $value ]] || die "infra/compose.yaml has no \${$1:-...} default"
  printf '%s\n' "$value"
}

# standin_build <tag> <context dir> [build args...]: builds and removes the context.
standin_build() {
  local tag=$1 context=$2 started=$SECONDS
  shift 2
  local -a args=()
  local arg
  for arg in "$@"; do args+=(--build-arg "$arg"); done
  log "building $tag as a stand-in"
  if ! docker build --network host -q -t "$tag" --build-arg "DEBIAN_IMAGE=$DEBIAN_STANDIN" "${args[@]}" \
    "$context" >"$STATE_DIR/standin-build.log" 2>&1; then
    tail -n 15 "$STATE_DIR/standin-build.log" >&2
    rm -rf "$context"
    die "building the $tag stand-in failed (log: $STATE_DIR/standin-build.log)"
  fi
  rm -rf "$context"
  log "built $tag in $((SECONDS - started)) s"
}

kafka_standin() {
  local tag version context
  tag=$(compose_default KAFKA_IMAGE)
  try_pull "$tag" && return 0
  debian_standin
  command -v mvn >/dev/null || die "the Kafka stand-in image needs Maven (apt-get install maven)"
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/infra/kafka/pom.xml")
  context="$CACHE_DIR/kafka-context.partial-$$"
  rm -rf "$context"
  mkdir -p "$context"
  cp -r "$STANDIN_DIR/kafka/Dockerfile" "$STANDIN_DIR/kafka/bin" "$STANDIN_DIR/kafka/log4j2.properties" "$context/"
  log "collecting the Kafka $version jars with Maven"
  if ! mvn -B -q -f "$STANDIN_DIR/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$context/libs" \
    >"$STATE_DIR/mvn.log" 2>&1; then
    tail -n 15 "$STATE_DIR/mvn.log" >&2
    rm -rf "$context"
    die "mvn dependency:copy-dependencies failed (log: $STATE_DIR/mvn.log)"
  fi
  standin_build "$tag" "$context" "KAFKA_VERSION=$version"
}

minio_standin() {
  local tag minio mc context
  tag=$(compose_default MINIO_IMAGE)
  try_pull "$tag" && return 0
  debian_standin
  minio=$(minio_binary)
  mc=$(mc_binary)
  context="$CACHE_DIR/minio-context.partial-$$"
  rm -rf "$context"
  mkdir -p "$context"
  cp "$STANDIN_DIR/minio/Dockerfile" "$STANDIN_DIR/minio/docker-entrypoint.sh" "$minio" "$mc" "$context/"
  standin_build "$tag" "$context" "MINIO_VERSION=$MINIO_VERSION"
}
