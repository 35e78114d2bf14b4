#!/usr/bin/env bash
# First-run demo setup for ocserv-modern. Creates, only if missing (never overwrites):
#   $OCM_CONFIG_DIR/server.crt, server.key   self-signed ECDSA P-256 certificate + key
#   $OCM_CONFIG_DIR/passwd                    ocpasswd-format file with user "demo"
#   $OCM_CONFIG_DIR/demo-password             the demo user's random password (0600)
# and prints the certificate's pin-sha256 and an example openconnect command.
# OCM_CONFIG_DIR defaults to /etc/ocserv-modern. OCM_PORT (default: tcp_port from
# config/ocserv-modern.toml, else 443) is only used for the printed example.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${OCM_CONFIG_DIR:-/etc/ocserv-modern}
CERT="$DIR/server.crt"
KEY="$DIR/server.key"
PASSWD="$DIR/passwd"
PWFILE="$DIR/demo-password"

umask 077
mkdir -p "$DIR"

host=$(hostname 2>/dev/null || echo localhost)
# Global addresses of this machine (no loopback / link-local), cheap to get.
mapfile -t addrs < <(hostname -I 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true)

# --- certificate ---------------------------------------------------------------------------
if [[ -e "$CERT" || -e "$KEY" ]]; then
  if [[ ! -e "$CERT" || ! -e "$KEY" ]]; then
    echo "demo-setup: only one of $CERT / $KEY exists; not touching either" >&2
    exit 1
  fi
  echo "demo-setup: keeping existing certificate $CERT"
else
  san="DNS:$host,DNS:localhost,IP:127.0.0.1"
  for a in "${addrs[@]}"; do
    san+=",IP:$a"
  done
  tmpkey=$(mktemp "$DIR/.key.XXXXXX")
  tmpcrt=$(mktemp "$DIR/.crt.XXXXXX")
  trap 'rm -f "$tmpkey" "$tmpcrt"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmpkey" -out "$tmpcrt" -days 825 -sha256 \
    -subj "/CN=ocserv-modern" -addext "subjectAltName=$san" \
    -addext "extendedKeyUsage=serverAuth" 2>/dev/null \
    || { echo "demo-setup: openssl failed to create the certificate" >&2; exit 1; }
  chmod 600 "$tmpkey"
  chmod 644 "$tmpcrt"
  # ln (not mv) so that a file created concurrently is never replaced.
  ln "$tmpkey" "$KEY" && ln "$tmpcrt" "$CERT"
  rm -f "$tmpkey" "$tmpcrt"
  trap - EXIT
  echo "demo-setup: created $CERT (SAN $san) and $KEY"
fi

# --- demo user ------------------------------------------------------------------------------
if [[ -e "$PASSWD" ]]; then
  echo "demo-setup: keeping existing $PASSWD"
  if [[ -e "$PWFILE" ]]; then
    echo "demo-setup: the demo password is in $PWFILE"
  fi
else
  if [[ -e "$PWFILE" ]]; then
    echo "demo-setup: $PWFILE exists but $PASSWD does not; not touching them" >&2
    exit 1
  fi
  password=$(openssl rand -base64 24 | tr -dc 'A-Za-z0-9' | head -c 16)
  hash=$(printf '%s\n' "$password" | openssl passwd -6 -stdin)
  (set -o noclobber; printf '%s\n' "$password" >"$PWFILE")
  (set -o noclobber; printf 'demo:*:%s\n' "$hash" >"$PASSWD")
  chmod 600 "$PWFILE" "$PASSWD"
  echo "demo-setup: created user 'demo' in $PASSWD"
  echo "demo-setup: demo password (shown once, saved in $PWFILE): $password"
fi

# --- how to connect --------------------------------------------------------------------------
pin=$(openssl x509 -in "$CERT" -noout -pubkey | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | openssl base64 -A)
port=${OCM_PORT:-}
if [[ -z "$port" && -f "$ROOT/config/ocserv-modern.toml" ]]; then
  port=$(sed -n 's/^[[:space:]]*tcp_port[[:space:]]*=[[:space:]]*\([0-9]\+\).*/\1/p' \
    "$ROOT/config/ocserv-modern.toml" | head -n1)
fi
port=${port:-443}
addr=127.0.0.1
for a in "${addrs[@]}"; do
  if [[ "$a" != *:* ]]; then addr=$a; break; fi
done
if [[ "$port" == 443 ]]; then url="https://$addr/"; else url="https://$addr:$port/"; fi

echo "demo-setup: certificate pin: pin-sha256:$pin"
echo "demo-setup: connect with:"
echo "  sudo openconnect --protocol=anyconnect --servercert pin-sha256:$pin -u demo $url"
