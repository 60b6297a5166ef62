// Verifies the audit log's proofs in the officer's own browser, trusting nothing the server
// says about the outcome: RFC 9162 Merkle hashing (leaf SHA-256(0x00 || entry), node
// SHA-256(0x01 || left || right)), inclusion and consistency proofs, and C2SP signed notes
// (Ed25519 over the note text) with WebCrypto. The checkpoint key is pinned in this browser
// on first use, as a witness pins it; a later page signed with another key is not verified.
// No build step, no dependencies: the same algorithms as audit/merkle.py and audit/note.py.
"use strict";

const LogProof = (() => {
  const encoder = new TextEncoder();
  const PINNED_KEYS = "ketenpoort.audit-checkpoint-keys";
  const SIGNATURE_LINE = "\u2014 ";
  const ED25519_TYPE = 0x01;

  function fromBase64(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  }

  function same(a, b) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  function shiftWhileEven(fn, sn) {
    while (fn > 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    return [fn, sn];
  }

  // RFC 9162 section 2.1.3.2.
  async function verifyInclusion(index, size, leaf, proof, root) {
    if (!(index >= 0 && index < size) || leaf.length !== 32 || root.length !== 32) return false;
    let fn = index;
    let sn = size - 1;
    let current = leaf;
    for (const sibling of proof) {
      if (sibling.length !== 32 || sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        current = await nodeHash(sibling, current);
        [fn, sn] = shiftWhileEven(fn, sn);
      } else {
        current = await nodeHash(current, sibling);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(current, root);
  }

  // RFC 9162 section 2.1.4.2.
  async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
    if (!(first >= 0 && first <= second) || proof.some((p) => p.length !== 32)) return false;
    if (first === 0) return proof.length === 0;
    if (first === second) return proof.length === 0 && same(firstRoot, secondRoot);
    if (proof.length === 0) return false;
    const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
    let fn = first - 1;
    let sn = second - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    let firstHash = path[0];
    let secondHash = path[0];
    for (const node of path.slice(1)) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        firstHash = await nodeHash(node, firstHash);
        secondHash = await nodeHash(node, secondHash);
        [fn, sn] = shiftWhileEven(fn, sn);
      } else {
        secondHash = await nodeHash(secondHash, node);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(firstHash, firstRoot) && same(secondHash, secondRoot);
  }

  // A C2SP signed note: the text, a blank line, and lines "— <name> base64(keyhash || sig)".
  function parseSignedNote(note) {
    const split = note.indexOf("\n\n");
    if (split < 0) throw new Error("no signature block");
    const text = note.slice(0, split + 1);
    const lines = text.split("\n");
    if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error("not a checkpoint");
    const signatures = note.slice(split + 2).split("\n").filter((l) => l !== "").map((line) => {
      if (!line.startsWith(SIGNATURE_LINE)) throw new Error("malformed signature line");
      const [name, encoded] = line.slice(SIGNATURE_LINE.length).split(" ");
      const raw = fromBase64(encoded);
      return { name, keyHash: raw.slice(0, 4), signature: raw.slice(4) };
    });
    return {
      text, origin: lines[0], size: Number(lines[1]), root: fromBase64(lines[2]),
      time: (lines[3] || "").replace(/^time /, ""), signatures,
    };
  }

  // The checkpoint text audit/note.py signs, from the JSON a witness keeps.
  function checkpointText(checkpoint) {
    return `${checkpoint.origin}\n${checkpoint.tree_size}\n${checkpoint.root_hash}\n` +
      `time ${checkpoint.issued_at}\n`;
  }

  async function ed25519Verify(rawKey, signature, message) {
    const key = await crypto.subtle.importKey("raw", rawKey, { name: "Ed25519" }, false,
                                              ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  async function noteKeyHash(name, rawKey) {
    const material = concat(encoder.encode(name + "\n"), Uint8Array.of(ED25519_TYPE), rawKey);
    return (await sha256(material)).slice(0, 4);
  }

  // Is the note signed, under its origin, by one of ``keys`` (raw 32-byte Ed25519 keys)?
  async function noteSignedBy(note, keys) {
    for (const signature of note.signatures) {
      if (signature.name !== note.origin || signature.signature.length !== 64) continue;
      for (const key of keys) {
        if (same(await noteKeyHash(note.origin, key), signature.keyHash) &&
            await ed25519Verify(key, signature.signature, encoder.encode(note.text))) {
          return true;
        }
      }
    }
    return false;
  }

  // The keys this browser trusts: pinned on first use from the keys the page offers, each
  // only when its id is the SHA-256 of the key itself. Returns {keys, pinnedNow}.
  async function trustedKeys(offered) {
    let pinned = {};
    try { pinned = JSON.parse(localStorage.getItem(PINNED_KEYS) || "{}"); } catch (e) { pinned = {}; }
    const pinnedNow = Object.keys(pinned).length === 0;
    if (pinnedNow) {
      for (const key of offered) {
        const raw = fromBase64(key.public_key);
        if (hex(await sha256(raw)) === key.key_id) pinned[key.key_id] = key.public_key;
      }
      localStorage.setItem(PINNED_KEYS, JSON.stringify(pinned));
    }
    return { keys: Object.values(pinned).map(fromBase64), ids: Object.keys(pinned), pinnedNow };
  }

  return {
    fromBase64, leafHash, verifyInclusion, verifyConsistency, parseSignedNote,
    checkpointText, ed25519Verify, noteSignedBy, trustedKeys, encoder, hex, sha256,
  };
})();
