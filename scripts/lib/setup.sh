# Shell helpers the install scripts share (scripts/bootstrap.sh, scripts/install_localstack.sh).
# Source it after defining `log`.

# The path of a Python 3.11 ($PYTHON if it is one, else python3.11 or python3); fails if none.
find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

# Install Debian packages; fails (after saying so) where there is no apt-get.
ensure_apt() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get not available; install $* by hand"; return 1
  fi
  log "installing $* with apt-get"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
