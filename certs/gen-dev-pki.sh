#!/usr/bin/env bash
# gen-dev-pki.sh - generate the Portcullis DEVELOPMENT PKI (for development and tests ONLY).
#
# Usage: certs/gen-dev-pki.sh OUTDIR [--force]
#
# Writes a complete PKI (CAs, CRLs, gateway and party certificates, negative-test fixtures)
# into OUTDIR. See certs/README.md for the layout. The PKI is built in a temporary directory
# next to OUTDIR and renamed into place, so nobody ever sees half a PKI; OUTDIR/.complete marks
# a finished one. If OUTDIR/.complete exists the script does nothing unless --force is given.
#
# Requires OpenSSL 3 (set OPENSSL=/path/to/openssl to use a specific binary) and GNU coreutils.
# Never prints key material. Private keys are written with mode 0600.

set -euo pipefail

PROG=gen-dev-pki
TRUST_DOMAIN="spiffe://exchange.gov.uk"
OPENSSL="${OPENSSL:-openssl}"

die() { echo "$PROG: error: $*" >&2; exit 1; }
usage_error() { usage >&2; echo "$PROG: error: $*" >&2; exit 2; }

usage() {
  cat <<EOF
Usage: $0 OUTDIR [--force]

Generate the Portcullis development PKI into OUTDIR (development and tests only).
  --force   regenerate even if OUTDIR already holds a complete PKI (OUTDIR is replaced).
EOF
}

# ---------------------------------------------------------------------------- arguments
OUTDIR=""
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage_error "unknown option: $arg" ;;
    *)
      [[ -z "$OUTDIR" ]] || usage_error "more than one OUTDIR given"
      OUTDIR="$arg" ;;
  esac
done
[[ -n "$OUTDIR" ]] || usage_error "OUTDIR is required"

# Normalise: strip trailing slashes (but keep "/" itself, which we refuse below).
while [[ "$OUTDIR" == */ && "$OUTDIR" != "/" ]]; do OUTDIR="${OUTDIR%/}"; done
[[ "$OUTDIR" != "/" && "$OUTDIR" != "." && "$OUTDIR" != ".." ]] || die "refusing to use '$OUTDIR' as OUTDIR"

if [[ -e "$OUTDIR/.complete" && "$FORCE" -eq 0 ]]; then
  echo "dev PKI already present in $OUTDIR"
  exit 0
fi

# ---------------------------------------------------------------------------- prerequisites
command -v "$OPENSSL" >/dev/null 2>&1 \
  || die "'$OPENSSL' not found in PATH; install OpenSSL 3 (Debian: apt-get install openssl) or set OPENSSL=/path/to/openssl"
OPENSSL_VERSION="$("$OPENSSL" version 2>/dev/null || true)"
[[ "$OPENSSL_VERSION" == "OpenSSL 3."* ]] \
  || die "OpenSSL 3 is required, found: '${OPENSSL_VERSION:-unknown}' (set OPENSSL=/path/to/openssl 3)"
date -u -d '+1 day' +%s >/dev/null 2>&1 || die "GNU date (coreutils) is required"

START_SECONDS=$(date +%s.%N)

# ---------------------------------------------------------------------------- temp dir (atomic publish)
PARENT="$(dirname -- "$OUTDIR")"
BASE="$(basename -- "$OUTDIR")"
mkdir -p -- "$PARENT"
TMP="$(mktemp -d -- "$PARENT/.$BASE.tmp.XXXXXX")"
OLD=""
cleanup() {
  local rc=$?
  [[ -n "${TMP:-}" && -d "$TMP" ]] && rm -rf -- "$TMP"
  [[ -n "${OLD:-}" && -d "$OLD" ]] && rm -rf -- "$OLD"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0755 "$TMP"

WORK="$TMP/.work"          # openssl ca databases, CSRs, bare certs; removed before publishing
LOG="$WORK/openssl.log"
mkdir -p "$WORK/db" "$WORK/csr" "$WORK/crt" \
         "$TMP/ca" "$TMP/crl" "$TMP/gateway" "$TMP/parties" "$TMP/fixtures" "$TMP/audit"
: >"$LOG"

# Run an openssl command quietly; on failure show what failed and its (key-free) output.
ossl() {
  if ! "$OPENSSL" "$@" >"$LOG" 2>&1; then
    echo "$PROG: error: openssl $1 failed: $OPENSSL $*" >&2
    sed 's/^/  | /' "$LOG" >&2
    exit 1
  fi
}

# Date helpers: GeneralizedTime YYYYMMDDHHMMSSZ relative to now (UTC), as openssl ca accepts.
at() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# ---------------------------------------------------------------------------- openssl config
CNF="$WORK/openssl.cnf"
cat >"$CNF" <<'EOF'
# Minimal config for `openssl req` / `openssl ca`. Per-call values come from the environment.
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ ca ]
default_ca = CA_default

[ CA_default ]
dir             = $ENV::PKI_CA_DIR
database        = $dir/index.txt
new_certs_dir   = $dir/newcerts
serial          = $dir/serial
crlnumber       = $dir/crlnumber
certificate     = $ENV::PKI_CA_CERT
private_key     = $ENV::PKI_CA_KEY
default_md      = sha256
policy          = policy_dev
unique_subject  = no
email_in_dn     = no
preserve        = no
copy_extensions = none
default_crl_days = 30
crl_extensions  = crl_ext

[ policy_dev ]
countryName            = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ ext_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_intermediate ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = $ENV::PKI_SAN
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
EOF

# $ENV:: references must resolve even when unused by a given command.
export PKI_CA_DIR="$WORK/db/none" PKI_CA_CERT="$WORK/none.pem" PKI_CA_KEY="$WORK/none.key" PKI_SAN="DNS:localhost"

ORG="/C=GB/O=Portcullis Development"
LEAF_DNS="DNS:localhost,IP:127.0.0.1"

declare -A CA_CERT CA_KEY
CERT_COUNT=0
CRL_COUNT=0

genkey() {  # genkey KEYFILE
  (umask 077 && ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
  chmod 0600 "$1"
}

use_ca() {  # use_ca NAME: point openssl ca at this CA's database, cert and key
  export PKI_CA_DIR="$WORK/db/$1" PKI_CA_CERT="${CA_CERT[$1]}" PKI_CA_KEY="${CA_KEY[$1]}"
}

init_ca_db() {  # init_ca_db NAME
  mkdir -p "$WORK/db/$1/newcerts"
  : >"$WORK/db/$1/index.txt"
  echo "unique_subject = no" >"$WORK/db/$1/index.txt.attr"
  echo 1000 >"$WORK/db/$1/crlnumber"
}

# make_root NAME CN CERTOUT KEYOUT: self-signed root, recorded in its own database.
make_root() {
  local name=$1 cn=$2 cert=$3 key=$4
  init_ca_db "$name"
  genkey "$key"
  CA_CERT[$name]=$cert; CA_KEY[$name]=$key
  use_ca "$name"
  ossl req -config "$CNF" -new -key "$key" -subj "$ORG/CN=$cn" -out "$WORK/csr/$name.csr"
  ossl ca -config "$CNF" -batch -notext -rand_serial -selfsign -keyfile "$key" \
    -extensions ext_root -startdate "$CA_START" -enddate "$(at '+3650 days')" \
    -in "$WORK/csr/$name.csr" -out "$cert"
  CERT_COUNT=$((CERT_COUNT + 1))
}

# issue ISSUER NAME EXT CN SAN START END KEYOUT -> bare cert in $WORK/crt/NAME.crt
issue() {
  local issuer=$1 name=$2 ext=$3 cn=$4 san=$5 start=$6 end=$7 key=$8
  genkey "$key"
  ossl req -config "$CNF" -new -key "$key" -subj "$ORG/CN=$cn" -out "$WORK/csr/$name.csr"
  use_ca "$issuer"
  PKI_SAN="$san" ossl ca -config "$CNF" -batch -notext -rand_serial \
    -extensions "$ext" -startdate "$start" -enddate "$end" \
    -in "$WORK/csr/$name.csr" -out "$WORK/crt/$name.crt"
  CERT_COUNT=$((CERT_COUNT + 1))
}

# make_intermediate NAME CN CERTOUT KEYOUT: CA (pathlen:0) signed by the root.
make_intermediate() {
  local name=$1 cn=$2 cert=$3 key=$4
  issue root "$name" ext_intermediate "$cn" "$PKI_SAN" "$CA_START" "$(at '+1825 days')" "$key"
  cp "$WORK/crt/$name.crt" "$cert"
  init_ca_db "$name"
  CA_CERT[$name]=$cert; CA_KEY[$name]=$key
}

# leaf ISSUER OUTBASE CN SAN [START END]: OUTBASE.pem = leaf + issuer, OUTBASE.key.
# SAN is the full subjectAltName value.
leaf() {
  local issuer=$1 out=$2 cn=$3 san=$4
  local start=${5:-$LEAF_START} end=${6:-$LEAF_END}
  local name="${out#"$TMP"/}"; name="${name//\//_}"
  issue "$issuer" "$name" ext_leaf "$cn" "$san" "$start" "$end" "$out.key"
  if [[ "$issuer" == rogue-root ]]; then
    cat "$WORK/crt/$name.crt" >"$out.pem"            # issued directly by a root: leaf only
  else
    cat "$WORK/crt/$name.crt" "${CA_CERT[$issuer]}" >"$out.pem"
  fi
}

# spiffe_leaf ISSUER OUTBASE CN PATH [START END]: URI SAN spiffe://exchange.gov.uk/PATH + loopback SANs.
spiffe_leaf() {
  local issuer=$1 out=$2 cn=$3 path=$4
  shift 4
  leaf "$issuer" "$out" "$cn" "URI:$TRUST_DOMAIN/$path,$LEAF_DNS" "$@"
}

revoke() {  # revoke CA CERTFILE REASON
  use_ca "$1"
  ossl ca -config "$CNF" -batch -revoke "$2" -crl_reason "$3"
}

gencrl() {  # gencrl CA OUTFILE
  use_ca "$1"
  ossl ca -config "$CNF" -batch -gencrl -crldays 30 -out "$2"
  CRL_COUNT=$((CRL_COUNT + 1))
}

# ---------------------------------------------------------------------------- validity windows
# Normal leaves: 1 day ago .. +825 days. CAs start 500 days ago so that every fixture's validity
# window (the expired one starts 400 days ago) nests inside its issuer's: the only reason a
# fixture fails is the one it was made for.
LEAF_START="$(at '-1 day')"
LEAF_END="$(at '+825 days')"
CA_START="$(at '-500 days')"

# ---------------------------------------------------------------------------- CAs
make_root root "Portcullis Dev Root CA" "$TMP/ca/root.pem" "$TMP/ca/root.key"
cp "$TMP/ca/root.pem" "$TMP/ca/bundle.pem"

make_intermediate intermediate "Portcullis Dev Issuing CA 1" \
  "$TMP/ca/intermediate.pem" "$TMP/ca/intermediate.key"
make_intermediate intermediate-revoked "Portcullis Dev Revoked Issuing CA" \
  "$TMP/fixtures/intermediate-revoked.pem" "$TMP/fixtures/intermediate-revoked.key"
make_intermediate intermediate-nocrl "Portcullis Dev Issuing CA Without CRL" \
  "$TMP/fixtures/intermediate-nocrl.pem" "$TMP/fixtures/intermediate-nocrl.key"

revoke root "$TMP/fixtures/intermediate-revoked.pem" cACompromise
gencrl root "$TMP/crl/root.crl.pem"

# ---------------------------------------------------------------------------- gateway
spiffe_leaf intermediate "$TMP/gateway/server"      portcullis-gateway        gateway
spiffe_leaf intermediate "$TMP/gateway/server-next" portcullis-gateway        gateway
spiffe_leaf intermediate "$TMP/gateway/client"      portcullis-gateway-client gateway

# ---------------------------------------------------------------------------- parties
PARTIES=(
  uk-nca:uk/nca
  uk-bsc:uk/bsc
  uk-border-force:uk/border-force
  uk-immigration-enforcement:uk/immigration-enforcement
  eu-europol:eu/europol
  eu-fr-dnpaf:eu/fr-dnpaf
  eu-be-fedpol:eu/be-fedpol
  eu-nl-kmar:eu/nl-kmar
  eu-de-bpol:eu/de-bpol
  audit-ico:audit/ico
  audit-psd:audit/psd
  ops-operator:ops/operator
)
for entry in "${PARTIES[@]}"; do
  spiffe_leaf intermediate "$TMP/parties/${entry%%:*}" "${entry%%:*}" "${entry#*:}"
done

# ---------------------------------------------------------------------------- fixtures
F="$TMP/fixtures"
spiffe_leaf intermediate "$F/expired"          fixture-expired          uk/nca "$(at '-400 days')" "$(at '-10 days')"
spiffe_leaf intermediate "$F/not-yet-valid"    fixture-not-yet-valid    uk/nca "$(at '+10 days')"  "$(at '+400 days')"
spiffe_leaf intermediate "$F/revoked"          fixture-revoked          uk/nca
spiffe_leaf intermediate "$F/unknown-identity" fixture-unknown-identity uk/unknown-agency
leaf        intermediate "$F/two-sans"         fixture-two-sans \
  "URI:$TRUST_DOMAIN/uk/nca,URI:$TRUST_DOMAIN/uk/bsc,$LEAF_DNS"
leaf        intermediate "$F/no-uri-san"       fixture-no-uri-san "DNS:localhost"

revoke intermediate "$WORK/crt/fixtures_revoked.crt" keyCompromise
gencrl intermediate "$TMP/crl/intermediate.crl.pem"

spiffe_leaf intermediate-revoked "$F/revoked-intermediate-leaf" fixture-revoked-intermediate-leaf uk/nca
gencrl intermediate-revoked "$TMP/crl/intermediate-revoked.crl.pem"     # empty but valid

spiffe_leaf intermediate-nocrl "$F/nocrl-leaf" fixture-nocrl-leaf uk/nca  # deliberately no CRL

make_root rogue-root "Rogue Root CA" "$F/rogue-root.pem" "$F/rogue-root.key"
spiffe_leaf rogue-root "$F/rogue" fixture-rogue uk/nca
gencrl rogue-root "$F/rogue-root.crl.pem"                                  # NOT in crl/

ossl rehash "$TMP/crl"

# The gateway's audit checkpoint signing key (Ed25519) and its public half for auditors.
ossl genpkey -algorithm ed25519 -out "$TMP/audit/signing.key"
chmod 0600 "$TMP/audit/signing.key"
ossl pkey -in "$TMP/audit/signing.key" -pubout -out "$TMP/audit/signing.pub"

# Each party's development identity provider: an Ed25519 key that signs its officer assertions
# (portcullis-devtoken), and the public half the gateway trusts, named <kid>.<alg>.pem
# (docs/officer-identity.md). A real agency keeps the private key in its own identity provider.
for entry in "${PARTIES[@]}"; do
  party="${entry%%:*}"
  mkdir -p "$TMP/idp/$party" "$TMP/officer-keys/$party"
  ossl genpkey -algorithm ed25519 -out "$TMP/idp/$party/dev-1.key"
  chmod 0600 "$TMP/idp/$party/dev-1.key"
  ossl pkey -in "$TMP/idp/$party/dev-1.key" -pubout -out "$TMP/officer-keys/$party/dev-1.EdDSA.pem"
done

# ---------------------------------------------------------------------------- publish
rm -rf -- "$WORK"
date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP/.complete"

# rename(2) onto a missing or empty directory is atomic; it fails on a non-empty one.
if ! mv -T -- "$TMP" "$OUTDIR" 2>/dev/null; then
  if [[ -e "$OUTDIR/.complete" && "$FORCE" -eq 0 ]]; then
    # A parallel run published first; theirs is as good as ours.
    echo "dev PKI already present in $OUTDIR"
    exit 0
  fi
  # --force, or a stale incomplete OUTDIR: move the old one aside, then swap ours in.
  OLD="$(mktemp -d -- "$PARENT/.$BASE.old.XXXXXX")"
  mv -T -- "$OUTDIR" "$OLD/pki"
  mv -T -- "$TMP" "$OUTDIR" || die "could not move the new PKI into $OUTDIR"
fi
TMP=""

ELAPSED=$(awk -v s="$START_SECONDS" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "dev PKI written to $OUTDIR: $CERT_COUNT certificates, $CRL_COUNT CRLs, ${ELAPSED}s (development only)"
