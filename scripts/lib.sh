# Shared by scripts/run and scripts/test (sourced, not run): the Python check, the virtualenv, and
# installing the Debian packages a machine lacks.

step() { printf '\n==> %s\n' "$*"; }
fail() {
  printf '\n%s\n' "$*" >&2
  exit 1
}

# apt_install PACKAGE...: installs with apt as root (or with sudo when it needs no password); returns
# 1 when neither is possible, so the caller can say what to install.
apt_install() {
  local apt=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
    apt=(sudo apt-get)
  fi
  command -v apt-get >/dev/null || return 1
  step "installing $* with apt"
  "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "$@"
}

# find_python: sets $python to the first of python3, python3.13, python3.12, python3.11 that is 3.11
# or newer and can make virtualenvs (installing Debian's venv package when it is missing and apt may).
find_python() {
  python=""
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    local found="there is no python3"
    command -v python3 >/dev/null && found="python3 is $(python3 -c 'import platform; print(platform.python_version())')"
    fail "storefront needs Python 3.11 or newer, and here $found: install a newer Python (Debian 12 and Ubuntu 24.04 ship one: sudo apt-get install python3 python3-venv) and run this again."
  fi
  # Debian and Ubuntu ship the venv module (ensurepip) in a package of its own.
  if ! "$python" -c 'import ensurepip' 2>/dev/null; then
    local package
    package="$("$python" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
    apt_install "$package" ||
      fail "Python cannot make virtualenvs here (no ensurepip): run 'sudo apt-get install $package' (or python3-venv) and run this again."
  fi
}

# ensure_venv EXTRAS: .venv with storefront installed (editable, with "[EXTRAS]" when given). pip runs
# only when .venv is missing or pyproject.toml (or the extras asked for) changed since the last
# install; .venv/storefront-installed remembers what was installed, so a second start needs no
# network.
ensure_venv() {
  local extras="$1" stamp=.venv/storefront-installed wanted have=""
  wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  # Installed "dev" covers a plain install too (it is a superset).
  if [ -x .venv/bin/python ] && { [ "$have" = "$wanted dev" ] || [ "$have" = "$wanted $extras" ]; }; then
    return 0
  fi
  find_python
  # A .venv without pip is what a failed `python3 -m venv` leaves behind: start again.
  if [ -d .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    rm -rf .venv
  fi
  local why="pyproject.toml changed since the last install"
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv with $("$python" --version)"
    "$python" -m venv .venv || fail "Could not create .venv with $python (see above)."
    why="the first time only; about half a minute"
  elif [ -z "$have" ]; then
    why="no install of these scripts recorded yet"
  elif [ "${have%% *}" = "$wanted" ]; then
    why="[$extras] is not installed yet"
  fi
  local target="."
  [ -n "$extras" ] && target=".[$extras]"
  step "installing storefront${extras:+ with [$extras]} and its dependencies into .venv ($why)"
  rm -f "$stamp"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
  printf '%s %s\n' "$wanted" "$extras" >"$stamp"
}
