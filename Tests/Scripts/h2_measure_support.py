"""What h2-ws-measure.py and h2-feed-measure.py share: a throwaway certificate, an example server
over TLS on a free port (its memory and CPU from /proc), TLS client sockets with one ALPN
protocol, and the bytes TCP carried on a socket."""
import contextlib
import os
import socket
import ssl
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def test_certificates():
    """A directory with a throwaway CA and server certificate for `localhost`
    (make-test-cert.sh: ca.pem, server.pem, server.key), removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run(["bash", os.path.join(ROOT, "Tests", "Scripts", "make-test-cert.sh"), directory],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield directory


class ServerProcess:
    """An example server (`wirecodec-echo-server`, `wirecodec-feed-server`) on a free loopback
    port with TLS (it then offers `h2` and `http/1.1` by ALPN), until stop()."""

    def __init__(self, binary, certificates, arguments=()):
        command = [binary, "--host", "127.0.0.1", "--port", "0",
                   "--tls-cert", os.path.join(certificates, "server.pem"),
                   "--tls-key", os.path.join(certificates, "server.key")] + list(arguments)
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # First line: "...: listening on https://127.0.0.1:PORT/ ..."
        line = self.process.stdout.readline().decode()
        self.port = int(line.split("127.0.0.1:")[1].split("/")[0])

    def memory(self):
        """Resident memory in bytes (VmRSS)."""
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self):
        """User and system CPU time so far."""
        with open("/proc/%d/stat" % self.process.pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tcp_bytes(sock):
    """(bytes the peer acknowledged, bytes received) of a TCP socket (Linux tcp_info)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return struct.unpack_from("QQ", info, 120)


def tls_socket(port, cafile, alpn):
    """A TLS connection to 127.0.0.1:port for `localhost`, offering only `alpn` (checked)."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols([alpn])
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = context.wrap_socket(raw, server_hostname="localhost")
    if sock.selected_alpn_protocol() != alpn:
        raise RuntimeError("ALPN chose %r, not %s" % (sock.selected_alpn_protocol(), alpn))
    return sock
