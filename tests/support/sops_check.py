"""An independent reading of a sops JSON file, for the interoperability
tests of `bp secrets`: the data key is unwrapped with the `age` command-line
tool, every value is decrypted with the `cryptography` package following
the documented algorithm (AES-256-GCM, 32-byte nonce, key path + ":" as
additional data, list items adding nothing), and the SHA-512 MAC is
checked. Prints the plaintext document as JSON.

usage: sops_check.py FILE.json|FILE.yaml AGE_IDENTITY_FILE
"""
import base64
import hashlib
import json
import re
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

path, identity = sys.argv[1], sys.argv[2]
if path.endswith((".yaml", ".yml")):
    import yaml  # PyYAML: comments are not values, and are not in the MAC
    doc = yaml.safe_load(open(path))
else:
    doc = json.load(open(path))
meta = doc.pop("sops")
armored = meta["age"][0]["enc"]
key = subprocess.run(["age", "-d", "-i", identity], input=armored.encode(),
                     capture_output=True, check=True).stdout
assert len(key) == 32, f"data key of {len(key)} bytes"
gcm = AESGCM(key)
pattern = re.compile(r"^ENC\[AES256_GCM,data:(.*),iv:(.*),tag:(.*),type:(.*)\]$")


def open_value(text, aad):
    data, iv, tag, kind = pattern.match(text).groups()
    raw = gcm.decrypt(base64.b64decode(iv), base64.b64decode(data) + base64.b64decode(tag), aad.encode())
    s = raw.decode()
    return {"str": lambda: s, "int": lambda: int(s), "float": lambda: float(s),
            "bool": lambda: s == "True"}[kind](), raw


def as_bytes(v):
    if isinstance(v, bool):
        return b"True" if v else b"False"
    if isinstance(v, float) and v.is_integer():
        return str(int(v)).encode()
    return str(v).encode()


mac = hashlib.sha512()
suffix = meta.get("unencrypted_suffix", "_unencrypted")


def walk(node, keys):
    if isinstance(node, dict):
        return {k: walk(v, keys + [k]) for k, v in node.items()}
    if isinstance(node, list):
        return [walk(v, keys) for v in node]
    if node is None:
        return None
    if isinstance(node, str) and node.startswith("ENC[") and not any(k.endswith(suffix) for k in keys):
        value, raw = open_value(node, "".join(k + ":" for k in keys))
        mac.update(raw)
        return value
    mac.update(as_bytes(node))
    return node


plain = walk(doc, [])
stored, _ = open_value(meta["mac"], meta["lastmodified"])
assert stored == mac.hexdigest().upper(), "MAC mismatch"
print(json.dumps(plain, indent="\t"))
