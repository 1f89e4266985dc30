# Sourced by scripts/*: make .venv usable, whatever state an earlier attempt left it in.
# Usage: ensure_venv '.[test]'   (the pip requirement to install into it, editable)
#
# A .venv without a working python or pip (e.g. `python3 -m venv` failed half-way on a Debian
# python3 without python3-venv) is removed and made again. The project is (re)installed when
# pyproject.toml or the requirement changed since the last complete install.

ensure_venv() {
  local requirement="$1" python="${PYTHON:-python3}" stamp want
  stamp=".venv/.installed-$(printf '%s' "$requirement" | tr -c 'a-z' '_')"
  if [ -d .venv ] && ! { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }; then
    echo "scripts: .venv is incomplete (no working python or pip); making it again" >&2
    rm -rf .venv
  fi
  if [ ! -d .venv ]; then
    if ! "$python" -m venv .venv; then
      rm -rf .venv
      echo "scripts: '$python -m venv' failed. On Debian or Ubuntu: apt-get install python3-venv" >&2
      echo "         (or set PYTHON to another Python 3.11+)" >&2
      return 1
    fi
  fi
  want="$(sha256sum <pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -f "$stamp"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$requirement"
    printf '%s\n' "$want" >"$stamp"
  fi
}
