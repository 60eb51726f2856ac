#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate signed by it, with the
# `openssl` command (installed by Tests/Scripts/setup-tests.sh), for the wss:// tests:
#
#   make-test-ca.sh DIR
#
# DIR/ca.pem            the CA certificate (what clients get as --ca-cert)
# DIR/server.pem, DIR/server.key
#                       a certificate for localhost, 127.0.0.1 and ::1 (subjectAltName), valid
#                       for 2 days, and its key (EC P-256)
# DIR/other-ca.pem      a second, unrelated CA (a client trusting only it must refuse the server)
set -euo pipefail
dir="${1:?usage: make-test-ca.sh DIR}"
mkdir -p "$dir"
cd "$dir"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=WireCodec test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
cat > server.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EOF
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile server.ext -out server.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key 2>/dev/null
openssl req -x509 -new -key other-ca.key -sha256 -days 2 -subj "/CN=Unrelated CA" \
    -addext "basicConstraints=critical,CA:TRUE" -out other-ca.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
echo "$dir"
