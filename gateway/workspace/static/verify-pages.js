// Runs the checks of logproof.js on the proof data a page carries in <script
// type="application/json" id="bewijs">, and writes the outcome into #uitkomst and #controles.
// The texts come translated in the data; the outcome is the browser's own.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("bewijs").textContent);
  const says = data.messages;
  const outcome = document.getElementById("uitkomst");
  const list = document.getElementById("controles");

  function report(text, passed) {
    const item = document.createElement("li");
    item.textContent = `${passed ? "\u2713" : "\u2717"} ${text}`;
    item.className = passed ? "check check--passed" : "check check--failed";
    list.appendChild(item);
    return passed;
  }

  function conclude(passed, detail) {
    outcome.textContent = passed ? says.verified : `${says.not_verified}: ${detail}`;
    outcome.className = passed ? "verification verification--ok" : "verification verification--failed";
    outcome.dataset.verified = String(passed);
  }

  async function signedCheckpoint(note, keys, label) {
    const parsed = LogProof.parseSignedNote(note);
    const signed = await LogProof.noteSignedBy(parsed, keys);
    report(`${says.signature} ${label} (${parsed.size})`, signed);
    return { parsed, signed };
  }

  async function entry(trusted) {
    const b64 = LogProof.fromBase64;
    let leaf = b64(data.leaf_hash);
    let passed = true;
    if (data.entry !== null) {
      leaf = await LogProof.leafHash(LogProof.encoder.encode(data.entry));
      passed = report(says.leaf, LogProof.hex(leaf) === LogProof.hex(b64(data.leaf_hash)));
    }
    const { parsed, signed } = await signedCheckpoint(data.signed_note, trusted.keys, "");
    const sized = report(says.size, parsed.size === data.tree_size);
    const included = report(says.inclusion, await LogProof.verifyInclusion(
      data.leaf_index, data.tree_size, leaf, data.hashes.map(b64), parsed.root));
    return passed && signed && sized && included;
  }

  async function history(trusted) {
    const b64 = LogProof.fromBase64;
    let passed = true;
    const notes = data.checkpoints.map((c) => LogProof.parseSignedNote(c.signed_note));
    for (const [i, checkpoint] of data.checkpoints.entries()) {
      const signed = await LogProof.noteSignedBy(notes[i], trusted.keys);
      let consistent = true;
      const older = notes[i + 1];
      if (older !== undefined && checkpoint.consistency_with_previous !== null) {
        consistent = await LogProof.verifyConsistency(
          older.size, notes[i].size, checkpoint.consistency_with_previous.map(b64), older.root,
          notes[i].root);
      }
      const cell = document.getElementById(`status-${notes[i].size}`);
      cell.textContent = signed && consistent ? says.verified : says.not_verified;
      cell.dataset.verified = String(signed && consistent);
      passed = report(`${says.signature} (${notes[i].size})`, signed) && passed;
      if (older !== undefined) {
        passed = report(`${says.consistency} ${older.size} \u2192 ${notes[i].size}`, consistent) && passed;
      }
    }
    return passed;
  }

  async function witness(trusted) {
    const b64 = LogProof.fromBase64;
    const seen = data.witnessed;
    // The witness's own pinned keys, not the server's, check what the witness saw.
    const witnessKeys = data.witness_keys.map((k) => b64(k.public_key));
    let seenSigned = false;
    for (const key of witnessKeys) {
      if (await LogProof.ed25519Verify(key, b64(seen.signature),
                                       LogProof.encoder.encode(LogProof.checkpointText(seen)))) {
        seenSigned = true;
      }
    }
    report(`${says.signature} ${says.witnessed} (${seen.tree_size})`, seenSigned);
    const { parsed, signed } = await signedCheckpoint(data.signed_note, trusted.keys, says.latest);
    const consistent = report(`${says.consistency} ${seen.tree_size} \u2192 ${parsed.size}`,
      await LogProof.verifyConsistency(seen.tree_size, parsed.size, data.hashes.map(b64),
                                       b64(seen.root_hash), parsed.root));
    return seenSigned && signed && consistent;
  }

  async function run() {
    const trusted = await LogProof.trustedKeys(data.keys);
    const note = document.getElementById("sleutels");
    note.textContent = `${trusted.pinnedNow ? says.pinned_now : says.pinned} ${trusted.ids.join(", ")}`;
    const checks = { entry, history, witness }[data.kind];
    const passed = await checks(trusted);
    conclude(passed, says.failed_detail);
  }

  run().catch((error) => conclude(false, `${says.failed_detail} (${error.message})`));
})();
