# The container engine for the tests and CI: Debian's docker.io, with dockerd started by
# hand and stopped again by whoever started it. It touches no firewall and no routing:
# no iptables rules, no IP masquerading, IP forwarding left as it is, no default bridge
# (`docker run` and `docker build` use `--network host`; compose projects get their own
# bridge network, which needs none of these).
# Sourced by infra/containers/containers.sh (it sets STATE_DIR and defines log/die).

DOCKERD_FLAGS=(
  --storage-driver overlay2
  --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false
  --bridge=none
)
ENGINE_START_TIMEOUT_S=90
ENGINE_STOP_TIMEOUT_S=90

engine_answers() {
  timeout 20 docker info >/dev/null 2>&1
}

engine_install() {
  [[ $(id -u) == 0 ]] || die "installing the container engine needs root (apt-get install docker.io)"
  log "installing Debian's docker.io with apt-get"
  # policy-rc.d keeps apt from starting the daemon with its default (firewall-changing)
  # flags; an existing one (container images ship one) is left alone.
  local policy=/usr/sbin/policy-rc.d added_policy=''
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=yes
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >"$STATE_DIR/apt.log" 2>&1 ||
    { apt-get update >>"$STATE_DIR/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io \
        >>"$STATE_DIR/apt.log" 2>&1; } ||
    status=$?
  [[ -z $added_policy ]] || rm -f "$policy"
  if [[ $status != 0 ]]; then
    tail -n 15 "$STATE_DIR/apt.log" >&2
    die "apt-get install docker.io failed (log: $STATE_DIR/apt.log)"
  fi
}

# Prints `started` when this call started dockerd (the caller then owns it and runs
# `down`), `running` when an engine already answered (it is left alone).
engine_up() {
  mkdir -p "$STATE_DIR"
  if engine_answers; then
    log "a container engine already answers (docker info); it is left as it is"
    echo running
    return 0
  fi
  if [[ -e $STATE_DIR/dockerd.pid ]] && kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null; then
    die "dockerd (pid $(cat "$STATE_DIR/dockerd.pid")) runs but does not answer; see $STATE_DIR/dockerd.log"
  fi
  [[ $(id -u) == 0 ]] || die "starting dockerd needs root"
  command -v dockerd >/dev/null || engine_install
  command -v docker >/dev/null || die "docker.io is installed but there is no docker client on PATH"

  cat /proc/sys/net/ipv4/ip_forward >"$STATE_DIR/ip_forward.before"
  log "starting dockerd (${DOCKERD_FLAGS[*]}); log: $STATE_DIR/dockerd.log"
  setsid dockerd "${DOCKERD_FLAGS[@]}" --pidfile "$STATE_DIR/dockerd.pid.daemon" \
    >"$STATE_DIR/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/dockerd.pid"
  local deadline=$((SECONDS + ENGINE_START_TIMEOUT_S))
  until engine_answers; do
    if ! kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null; then
      tail -n 15 "$STATE_DIR/dockerd.log" >&2
      rm -f "$STATE_DIR/dockerd.pid"
      restore_ip_forward
      die "dockerd exited during start-up (log: $STATE_DIR/dockerd.log)"
    fi
    if ((SECONDS > deadline)); then
      tail -n 15 "$STATE_DIR/dockerd.log" >&2
      engine_down >/dev/null
      die "dockerd did not answer within ${ENGINE_START_TIMEOUT_S} s (log: $STATE_DIR/dockerd.log)"
    fi
    sleep 1
  done
  log "dockerd $(docker version -f '{{.Server.Version}}' 2>/dev/null) is up (pid $(cat "$STATE_DIR/dockerd.pid"))"
  echo started
}

restore_ip_forward() {
  local before="$STATE_DIR/ip_forward.before"
  [[ -e $before ]] || return 0
  if [[ $(cat /proc/sys/net/ipv4/ip_forward) != "$(cat "$before")" ]]; then
    log "restoring net.ipv4.ip_forward to $(cat "$before")"
    cat "$before" >/proc/sys/net/ipv4/ip_forward
  fi
  rm -f "$before"
}

# Stops the dockerd that engine_up started (it stops its containers first); a daemon
# this script did not start is never touched.
engine_down() {
  local pidfile="$STATE_DIR/dockerd.pid"
  if [[ ! -e $pidfile ]]; then
    log "no dockerd started by this script; nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + ENGINE_STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS > deadline)); then
        log "dockerd (pid $pid) still runs after ${ENGINE_STOP_TIMEOUT_S} s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 1
    done
  fi
  rm -f "$pidfile"
  restore_ip_forward
  log "dockerd stopped"
}

engine_status() {
  if engine_answers; then
    local owner='not started by this script'
    [[ -e $STATE_DIR/dockerd.pid ]] && owner="started by this script, pid $(cat "$STATE_DIR/dockerd.pid")"
    echo "engine: running, docker $(docker version -f '{{.Server.Version}}' 2>/dev/null) ($owner)"
  else
    echo "engine: not running"
    return 1
  fi
}
