#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Known-answer values for tests/plugins/test_x3dh.c, computed independently
of the C code: python3-cryptography for X25519, Ed25519 and
ChaCha20-Poly1305 (the IETF AEAD; Noise's nonce = 4 zero bytes || u64
little-endian), hashlib/hmac for HKDF-SHA-256 (RFC 5869), and the
Ed25519 -> X25519 conversions written out below (seed -> SHA-512, first 32
bytes; public: u = (1 + y) / (1 - y) mod p).  Run: python3 x3dh_kat.py"""
import hashlib, hmac, struct
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization as ser

RAW = dict(encoding=ser.Encoding.Raw, format=ser.PublicFormat.Raw)
P = 2**255 - 19

def x_pub(sec): return X25519PrivateKey.from_private_bytes(sec).public_key().public_bytes(**RAW)
def dh(sec, pub): return X25519PrivateKey.from_private_bytes(sec).exchange(X25519PublicKey.from_public_bytes(pub))

def hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t, out, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t; i += 1
    return out[:n]

def enc(k): return b"\x05" + k
def aead(key, n, ad, pt=b""):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", n), pt, ad)

ika_sec = bytes(range(0x01, 0x21))
eka_sec = bytes(range(0x21, 0x41))
seed_b = bytes(range(0x41, 0x61))
spk_sec = bytes(range(0x61, 0x81))
opk_sec = bytes(range(0x81, 0xa1))
spk_id, opk_id = 1, 7

sign_b = Ed25519PrivateKey.from_private_bytes(seed_b)
sign_b_pub = sign_b.public_key().public_bytes(**RAW)
ikb_sec = hashlib.sha512(seed_b).digest()[:32]
ikb = x_pub(ikb_sec)
# The binding, checked the other way: the birational map of SIGN_B.
y = int.from_bytes(sign_b_pub, "little") & ((1 << 255) - 1)
u = (1 + y) * pow(1 - y, P - 2, P) % P
assert u.to_bytes(32, "little") == ikb

ika, eka, spk, opk = x_pub(ika_sec), x_pub(eka_sec), x_pub(spk_sec), x_pub(opk_sec)
sig = sign_b.sign(enc(spk))
bundle = (b"\x12" + ikb + sign_b_pub + struct.pack(">I", spk_id) + spk + sig
          + struct.pack(">I", opk_id) + opk)

dhs = dh(ika_sec, spk) + dh(eka_sec, ikb) + dh(eka_sec, spk) + dh(eka_sec, opk)
# The responder's side agrees.
assert dhs == dh(spk_sec, ika) + dh(ikb_sec, eka) + dh(spk_sec, eka) + dh(opk_sec, eka)
okm = hkdf(b"\0" * 32, b"\xff" * 32 + dhs, b"ockam-host X3DH X25519 SHA-256 v1", 96)
kc = okm[:32]
ad = enc(ika) + enc(ikb)
# INIT and DONE carry one features byte each (0x01: "I accept batch
# records") as AEAD plaintext; the first version's forms (_V1) had none.
FEATURES = b"\x01"
init_head = b"\x13" + ika + eka + struct.pack(">I", spk_id) + struct.pack(">I", opk_id)
init = init_head + aead(kc, 0, ad, FEATURES)
done = b"\x14" + aead(kc, 1, ad, FEATURES)
init_v1 = init_head + aead(kc, 0, ad)
done_v1 = b"\x14" + aead(kc, 1, ad)

# Without a one-time prekey: three DHs.
okm3 = hkdf(b"\0" * 32, b"\xff" * 32 + dhs[:96], b"ockam-host X3DH X25519 SHA-256 v1", 96)

for name, v in [("IK_A", ika), ("IK_B", ikb), ("SIGN_B", sign_b_pub),
                ("BUNDLE", bundle), ("OKM", okm), ("OKM3", okm3),
                ("INIT", init), ("DONE", done), ("INIT_V1", init_v1),
                ("DONE_V1", done_v1)]:
    print(name, len(v), v.hex())
