#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate it signed, for TLS tests
# and local trials of `--tls-cert`/`--tls-key`:
#
#   bash Tests/Scripts/make-test-cert.sh DIR
#
# DIR/ca.pem      the test CA (trust it in a client: curl --cacert, Python ssl cafile=)
# DIR/server.pem  the server's chain: its certificate, then the CA's (for --tls-cert)
# DIR/server.key  the server's private key (for --tls-key)
# DIR/spki.txt    base64 SHA-256 of the server key's SubjectPublicKeyInfo (Chromium's
#                 --ignore-certificate-errors-spki-list)
#
# ECDSA P-256 keys; the server certificate names localhost and 127.0.0.1 (subjectAltName),
# is valid for 2 days, and is for server authentication only. Never use these for anything
# but tests: the CA key is left next to it.
set -euo pipefail
dir=${1:?usage: make-test-cert.sh DIR}
mkdir -p "$dir"
cd "$dir"
command -v openssl >/dev/null || { echo "make-test-cert: openssl is missing (apt-get install openssl)" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj "/CN=WireCodec test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
cat > server.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server-leaf.pem 2>/dev/null
cat server-leaf.pem ca.pem > server.pem
openssl x509 -in server-leaf.pem -pubkey -noout | openssl pkey -pubin -outform der \
    | openssl dgst -sha256 -binary | base64 > spki.txt
rm -f server.csr server.ext ca.srl
echo "make-test-cert: $dir/ca.pem, $dir/server.pem, $dir/server.key, spki $(cat spki.txt)"
