#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""noise-peer's command line on Debian's python3-dissononce, an independent
Noise implementation, for interop tests (see README.md).

Raw Noise over TCP, each message framed by a 2-byte big-endian length;
empty prologue and handshake payloads; random static key.  The initiator
sends --count transport messages and checks each echo; the responder echoes
until the peer closes.  Run it with /usr/bin/python3 (Debian's packages).
"""
import argparse
import signal
import socket
import struct
import sys

from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory

TIMEOUT_SECONDS = 10
MSG_MAX = 65535
TAG_LEN = 16


class PeerError(Exception):
    pass


def on_alarm(signum, frame):
    sys.stderr.write("dissononce-peer: timed out after %d s\n" % TIMEOUT_SECONDS)
    sys.stderr.flush()
    sys.exit(2)


def split_address(spec):
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise PeerError("bad address %s (want HOST:PORT)" % spec)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def recv_exact(sock, n, eof_ok=False):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if eof_ok and not buf:
                return None
            raise PeerError("peer closed the connection mid-message")
        buf.extend(chunk)
    return bytes(buf)


def frame_send(sock, msg):
    if len(msg) > MSG_MAX:
        raise PeerError("message of %d bytes exceeds %d" % (len(msg), MSG_MAX))
    sock.sendall(struct.pack(">H", len(msg)) + bytes(msg))


def frame_recv(sock, eof_ok=False):
    hdr = recv_exact(sock, 2, eof_ok)
    if hdr is None:
        return None
    (length,) = struct.unpack(">H", hdr)
    return recv_exact(sock, length)


def open_socket(args):
    if args.listen:
        host, port = split_address(args.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(1)
        print("listening=%d" % srv.getsockname()[1], flush=True)
        conn, _ = srv.accept()
        srv.close()
        return conn
    host, port = split_address(args.connect)
    return socket.create_connection((host, port), timeout=TIMEOUT_SECONDS)


def handshake(sock, protocol, initiator):
    hs = protocol.create_handshakestate()
    s = protocol.dh.generate_keypair()
    hs.initialize(protocol.pattern, initiator, b"", s=s)
    my_turn = initiator
    ciphers = None
    while ciphers is None:
        if my_turn:
            msg = bytearray()
            ciphers = hs.write_message(b"", msg)
            frame_send(sock, msg)
        else:
            msg = frame_recv(sock)
            try:
                ciphers = hs.read_message(msg, bytearray())
            except Exception as exc:
                raise PeerError("handshake: peer message rejected (%s)" % exc)
        my_turn = not my_turn
    return hs, s, ciphers


def main():
    parser = argparse.ArgumentParser(prog="dissononce_peer.py")
    parser.add_argument("--role", required=True, choices=["initiator", "responder"])
    parser.add_argument("--suite", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen")
    where.add_argument("--connect")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--payload", default="hello from dissononce")
    args = parser.parse_args()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIMEOUT_SECONDS)
    initiator = args.role == "initiator"
    try:
        protocol = NoiseProtocolFactory().get_noise_protocol(args.suite)
    except Exception as exc:
        raise PeerError("unsupported protocol name %s (%s)" % (args.suite, exc))

    sock = open_socket(args)
    hs, s, (c1, c2) = handshake(sock, protocol, initiator)
    # Split(): the first cipher state encrypts initiator -> responder.
    send, recv = (c1, c2) if initiator else (c2, c1)
    print("handshake_hash=%s" % hs.symmetricstate.get_handshake_hash().hex())
    print("local_static=%s" % s.public.data.hex())
    if hs.rs is not None:
        print("remote_static=%s" % hs.rs.data.hex())
    sys.stdout.flush()

    payload = args.payload.encode()
    if initiator:
        for i in range(args.count):
            frame_send(sock, send.encrypt_with_ad(b"", payload))
            try:
                echo = recv.decrypt_with_ad(b"", frame_recv(sock))
            except PeerError:
                raise
            except Exception as exc:
                raise PeerError("transport: echo %d rejected (%s)" % (i, exc))
            if echo != payload:
                raise PeerError("transport: echo %d differs from what was sent" % i)
        print("echoed=%d" % args.count)
        sock.shutdown(socket.SHUT_WR)
    else:
        count = 0
        while True:
            msg = frame_recv(sock, eof_ok=True)
            if msg is None:
                break
            try:
                plain = recv.decrypt_with_ad(b"", msg)
            except Exception as exc:
                raise PeerError("transport: message %d rejected (%s)" % (count, exc))
            frame_send(sock, send.encrypt_with_ad(b"", plain))
            count += 1
        print("echoed=%d" % count)
    sock.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (PeerError, OSError) as exc:
        sys.stderr.write("dissononce-peer: %s\n" % exc)
        sys.exit(1)
