#!/usr/bin/env bash
# Local base images for checking the Dockerfile and deploy/compose.yaml on a machine that cannot reach Docker Hub.
#
# Why this exists: the build machine of this project has Debian's docker.io and the Debian and npm mirrors, but no
# container registry, so neither `node:20.19-bookworm-slim` (the Dockerfile's default NODE_IMAGE) nor
# `postgres:15-bookworm` (compose) can be pulled. This script makes stand-ins for both from Debian's own packages with
# mmdebstrap, and `docker import`s them:
#
#   autodev-node20:bookworm    Debian bookworm (minbase) + ca-certificates + Node 20 copied from THIS machine (its
#                              node, headers and npm; Debian bookworm itself only has Node 18, and no reachable apt
#                              source has Node 20) laid out under /usr/local as in the node image (so the Dockerfile's
#                              npm_config_nodedir=/usr/local holds for both) + a `node` user, uid/gid 1000, HOME
#                              /home/node, as in the node image.
#   autodev-postgres15:bookworm  Debian bookworm + postgresql-15 + a small entrypoint that honours POSTGRES_USER,
#                              POSTGRES_DB and POSTGRES_PASSWORD on first start (the subset compose.yaml uses).
#
# Then: docker build --platform linux/amd64 --build-arg NODE_IMAGE=autodev-node20:bookworm -t auto-dev:local .
# (deploy/check-local-stack.sh does all of it). Nothing here is used by the real deployment (ECR/ECS, docs/OPERATIONS.md).
#
# Usage: deploy/local-base-image.sh [node|postgres|all]   (default all; root, needs mmdebstrap and a running dockerd)
set -euo pipefail

NODE_TAG=${NODE_TAG:-autodev-node20:bookworm}
POSTGRES_TAG=${POSTGRES_TAG:-autodev-postgres15:bookworm}
DOCKER=${DOCKER:-docker}
MIRRORS=(
  'deb http://deb.debian.org/debian bookworm main'
  'deb http://deb.debian.org/debian bookworm-updates main'
  'deb http://deb.debian.org/debian-security bookworm-security main'
)
WORK=$(mktemp -d /tmp/autodev-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

die() {
  echo "local-base-image: $*" >&2
  exit 1
}

build_node() {
  # This machine's own extra CAs (/usr/local/share/ca-certificates, e.g. a TLS-inspecting egress proxy's, without
  # which npm ci fails with SELF_SIGNED_CERT_IN_CHAIN) go into the stand-in image too, and Node is told to trust the
  # system bundle (NODE_EXTRA_CA_CERTS). Public certificates only; no key or credential is copied.
  EXTRA_CAS=$WORK/extra-cas
  mkdir -p "$EXTRA_CAS"
  find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$EXTRA_CAS/" \; 2>/dev/null || true
  local node_bin
  node_bin=$(command -v node) || die 'no node on this machine to copy into the image'
  node_bin=$(readlink -f "$node_bin")
  [[ "$("$node_bin" --version)" == v20.* ]] || die "this machine's node is $("$node_bin" --version), not Node 20"
  local prefix
  prefix=$(dirname "$(dirname "$node_bin")")
  [[ -f "$prefix/include/node/node.h" ]] || die "no Node headers under $prefix/include/node (better-sqlite3 builds against them)"
  [[ -d "$prefix/lib/node_modules/npm" ]] || die "no npm under $prefix/lib/node_modules/npm"
  echo "local-base-image: $NODE_TAG from Debian bookworm + Node $("$node_bin" --version) from $prefix" >&2
  mmdebstrap --variant=minbase --include=ca-certificates --arch=amd64 \
    --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/include" "$1/usr/local/lib/node_modules"' \
    --customize-hook="copy-in $node_bin /usr/local/bin" \
    --customize-hook="copy-in $prefix/include/node /usr/local/include" \
    --customize-hook="copy-in $prefix/lib/node_modules/npm /usr/local/lib/node_modules" \
    --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"' \
    --customize-hook="copy-in $EXTRA_CAS /usr/local/share/ca-certificates" \
    --customize-hook='chroot "$1" sh -ec "
      update-ca-certificates
      ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
      ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
      groupadd --gid 1000 node
      useradd --uid 1000 --gid node --shell /bin/bash --create-home node
      node --version && npm --version"' \
    --customize-hook='rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*.bin' \
    bookworm "$WORK/node.tar" "${MIRRORS[@]}"
  "$DOCKER" import --platform linux/amd64 \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' \
    "$WORK/node.tar" "$NODE_TAG"
}

build_postgres() {
  echo "local-base-image: $POSTGRES_TAG from Debian bookworm + postgresql-15" >&2
  cat >"$WORK/entrypoint.sh" <<'EOF'
#!/bin/sh
# Stand-in for the postgres image's entrypoint (deploy/local-base-image.sh): first start runs initdb with
# POSTGRES_USER/POSTGRES_PASSWORD and creates POSTGRES_DB; then the server runs in the foreground as `postgres`.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
PGDATA=${PGDATA:-/var/lib/postgresql/data}
BIN=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    runuser -u postgres -- "$BIN/createdb" -U "$POSTGRES_USER" "$POSTGRES_DB"
  fi
  runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
EOF
  mmdebstrap --variant=minbase --include=postgresql-15 --arch=amd64 \
    --customize-hook="copy-in $WORK/entrypoint.sh /usr/local/bin" \
    --customize-hook='chmod 0755 "$1/usr/local/bin/entrypoint.sh"' \
    --customize-hook='rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*.bin' \
    bookworm "$WORK/postgres.tar" "${MIRRORS[@]}"
  "$DOCKER" import --platform linux/amd64 \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' \
    "$WORK/postgres.tar" "$POSTGRES_TAG"
}

[[ $(id -u) == 0 ]] || die 'run as root (mmdebstrap builds the root filesystem with chroot)'
command -v mmdebstrap >/dev/null || die 'mmdebstrap is missing (apt-get install mmdebstrap)'
case "${1:-all}" in
  node) build_node ;;
  postgres) build_postgres ;;
  all) build_node && build_postgres ;;
  *) die "unknown image '$1' (node, postgres or all)" ;;
esac
