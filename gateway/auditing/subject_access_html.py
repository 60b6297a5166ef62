"""The subject access report as one printable HTML page, for the privacy officer to hand over.

Self-contained (inline CSS, no scripts, no external assets) so it prints and archives as is.
Every value from the log is escaped: partners choose some of the text entries carry. Other
persons an entry names are shown as a count only ("andere personen"), as the report has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

_STYLE = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; } code { font-size: 9pt; word-break: break-all; }
.refused { color: #a00; } .allowed { color: #060; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; } th { background: none; } }
@page { size: A4; margin: 15mm; }
"""

_VIA = {"person": "de betrokkene", "case": "een casus van de betrokkene",
        "meeting": "een casusoverleg over die casus"}
_DECISIONS = {"allowed": "toegestaan", "refused": "geweigerd", "unknown": "onbekend"}


def render(report: Mapping[str, Any]) -> str:
    entries = report["entries"]
    linked = ", ".join(report["linked_pseudonyms"]) or "geen"
    rows = "\n".join(_row(entry) for entry in entries) or (
        '<tr><td colspan="7">Geen vermeldingen in het toegangslogboek.</td></tr>'
    )
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<title>Inzageverzoek: toegangslogboek Ketenpoort</title><style>{_STYLE}</style></head>
<body>
<h1>Inzageverzoek (AVG art. 15): vermeldingen in het toegangslogboek</h1>
<p>Opgesteld {_e(report["generated_at"])}. Betrokkene (auditpseudoniem):
<code>{_e(report["audit_pseudonym"])}</code>; gekoppelde pseudoniemen: <code>{_e(linked)}</code>.
Aantal vermeldingen: {len(entries)}.</p>
<p>{_verification(report.get("verification"))}</p>
<table>
<thead><tr><th>Wanneer</th><th>Handeling</th><th>Door</th><th>Ontvanger en besluit</th>
<th>Categorieën en grondslag</th><th>Waarom</th><th>Convenant</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>Elke vermelding staat in het controleerbare toegangslogboek (Merkle-boom). Andere personen
die een vermelding noemt, staan hier alleen als aantal: wat over hen is, is van hen. Het rapport
als JSON of PDF bevat per vermelding de bladhash, het inclusiebewijs en het ondertekende
controlepunt; <code>python -m audit.verify --subject-access</code> controleert die zonder de
server te vertrouwen.</p>
</body></html>
"""


def _row(entry: Mapping[str, Any]) -> str:
    actor = entry.get("actor") if isinstance(entry.get("actor"), Mapping) else {}
    who = " / ".join(str(v) for v in (actor or {}).values())
    why = _lines([
        ("Doel", entry.get("purpose")), ("Processtap", entry.get("process_step")),
        ("Casus", entry.get("case_id")), ("Rol", ", ".join(entry.get("roles") or []) or None),
        ("Gevonden via", _VIA.get(entry.get("via") or "")),
        ("Andere personen (niet genoemd)", entry.get("other_persons") or None),
    ])
    covenant = _lines([("", entry.get("covenant")), ("versie", entry.get("covenant_version"))])
    return (
        f"<tr><td>{_e(entry['recorded_at'])}<br><code>{_e(entry['event_id'])}</code><br>"
        f"boomindex {_e(entry['tree_index'])}{_proof(entry.get('proof'))}</td>"
        f"<td>{_e(entry['action'])}</td><td>{_e(who)}</td>"
        f"<td>{_recipients(entry['recipients'])}</td>"
        f"<td>{_categories(entry['categories'])}</td><td>{why}</td><td>{covenant}</td></tr>"
    )


def _recipients(recipients: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for recipient in recipients:
        decision = recipient.get("decision") or "unknown"
        delivered = ", ".join(recipient.get("categories_delivered") or [])
        withheld = ", ".join(recipient.get("categories_withheld") or [])
        reasons = "; ".join(str(r) for r in recipient.get("reasons") or [] if r)
        oin = f' (OIN {_e(recipient["oin"])})' if recipient.get("oin") else ""
        parts.append(
            f'{_e(recipient["partner"])}{oin}: '
            f'<span class="{_e(decision)}">{_e(_DECISIONS.get(decision, decision))}</span>'
            + (f"<br>ontvangen: {_e(delivered)}" if delivered else "")
            + (f"<br>achtergehouden: {_e(withheld)}" if withheld else "")
            + (f"<br>identiteit: {_e(recipient['identity'])}" if recipient.get("identity")
               else "")
            + (f"<br>op grond van: {_e(_grants(recipient['grants']))}"
               if recipient.get("grants") else "")
            + (f"<br><small>{_e(reasons)}</small>" if reasons else "")
        )
    return "<hr>".join(parts)


def _grants(grants: Mapping[str, Any]) -> str:
    return "; ".join(f"{category} ({', '.join(ids)})" for category, ids in grants.items())


def _verification(verification: Mapping[str, Any] | None) -> str:
    if verification is None:
        return "Het logboek heeft nog geen ondertekend controlepunt; bewijzen volgen later."
    signature = ("de handtekening is geldig" if verification["signature_verified"]
                 else "<strong>de handtekening is ONGELDIG</strong>")
    failed = verification["entries_failed"]
    return (
        f"Gecontroleerd op {_e(verification['verified_at'])} tegen het ondertekende "
        f"controlepunt van boomgrootte {_e(verification['tree_size'])} (roothash "
        f"<code>{_e(verification['root_hash'])}</code>, uitgegeven "
        f"{_e(verification['issued_at'])}, sleutel <code>{_e(verification['key_id'])}</code>); "
        f"{signature}. Geverifieerd: {_e(verification['entries_verified'])} vermeldingen"
        + (f"; <strong>niet geverifieerd: {_e(failed)}</strong>" if failed else "")
        + f"; nog niet door dit controlepunt gedekt: "
        f"{_e(verification['entries_awaiting_checkpoint'])}."
    )


def _proof(proof: Mapping[str, Any] | None) -> str:
    if proof is None:
        return "<br><small>nog geen inclusiebewijs</small>"
    outcome = "geverifieerd" if proof.get("verified") else "NIET geverifieerd"
    return (f"<br><small>bewezen: blad {_e(proof['leaf_index'])} van "
            f"{_e(proof['tree_size'])}, {outcome}<br>bladhash "
            f"<code>{_e(proof['leaf_hash'])}</code></small>")


def _categories(categories: Iterable[Mapping[str, Any]]) -> str:
    return "<br>".join(
        f"{_e(c['id'])}" + (f" ({_e(c['legal_basis'])})" if c.get("legal_basis") else "")
        for c in categories
    )


def _lines(pairs: list[tuple[str, Any]]) -> str:
    return "<br>".join(
        f"{_e(label)}: {_e(value)}" if label else _e(value)
        for label, value in pairs if value is not None
    )


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
