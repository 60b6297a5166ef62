"""The subject access report as a Dutch PDF, for the privacy officer to hand to the person.

Pure Python (fpdf2). Per entry: when, what, by whom, what about this person went to whom under
which grant, how many other persons it names (never who), and the entry's leaf hash and
inclusion proof; up front the signed checkpoint the proofs are against and what the server
verified against it. The whole JSON report is embedded as ``inzage.json``: save it from the
PDF and run ``python -m audit.verify --subject-access inzage.json`` to check every proof and
the checkpoint's signature offline. The built-in fonts cover Latin-1 only; other characters in
partner-chosen text print as ``?`` (the embedded JSON keeps them exactly).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

EMBEDDED_REPORT = "inzage.json"
_FONT = "Helvetica"
_VIA = {"person": "de betrokkene zelf", "case": "een casus van de betrokkene",
        "meeting": "een casusoverleg over een casus van de betrokkene"}
_DECISIONS = {"allowed": "toegestaan", "refused": "geweigerd"}
_LEVELS = {"identified": "met identiteit", "pseudonym": "gepseudonimiseerd",
           "none": "niet als persoon"}


def render(report: Mapping[str, Any]) -> bytes:
    pdf = _Report()
    pdf.set_title("Inzageverzoek: toegangslogboek Ketenpoort")
    pdf.set_lang("nl")
    pdf.add_page()
    pdf.heading("Inzageverzoek (AVG art. 15): vermeldingen in het toegangslogboek", 14)
    pdf.line_of(f"Opgesteld: {report['generated_at']}")
    pdf.line_of(f"Betrokkene (auditpseudoniem): {report['audit_pseudonym']}")
    pdf.line_of("Gekoppelde pseudoniemen: "
                + (", ".join(report["linked_pseudonyms"]) or "geen"))
    pdf.line_of("Casussen: " + (", ".join(report.get("case_ids") or []) or "geen"))
    pdf.line_of(f"Aantal vermeldingen: {report['entry_count']}")
    _checkpoint(pdf, report.get("checkpoint"))
    _verification(pdf, report.get("verification"))
    for number, entry in enumerate(report["entries"], start=1):
        _entry(pdf, number, entry)
    pdf.embed_file(bytes=json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"),
                   basename=EMBEDDED_REPORT, mime_type="application/json",
                   desc="Het volledige rapport, voor controle met python -m audit.verify")
    return bytes(pdf.output())


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.cell(0, 5, f"Ketenpoort - inzageverzoek - pagina {self.page_no()}", align="C")

    def heading(self, text: str, size: int = 11) -> None:
        self.set_font(_FONT, "B", size)
        self.multi_cell(0, size * 0.5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def line_of(self, text: str, size: int = 9, style: str = "") -> None:
        self.set_font(_FONT, style, size)
        self.multi_cell(0, size * 0.5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                        wrapmode=WrapMode.CHAR)


def _checkpoint(pdf: _Report, checkpoint: Mapping[str, Any] | None) -> None:
    pdf.ln(3)
    pdf.heading("Ondertekend controlepunt")
    if checkpoint is None:
        pdf.line_of("Het logboek heeft nog geen ondertekend controlepunt; bewijzen volgen later.")
        return
    for label, key in (("Oorsprong", "origin"), ("Boomgrootte", "tree_size"),
                       ("Roothash (base64)", "root_hash"), ("Uitgegeven", "issued_at"),
                       ("Sleutel-id", "key_id"), ("Publieke sleutel (Ed25519, base64)",
                                                  "public_key"),
                       ("Handtekening (base64)", "signature")):
        pdf.line_of(f"{label}: {checkpoint.get(key)}", 8)
    pdf.line_of("Controle zonder de server te vertrouwen: sla de bijlage "
                f"{EMBEDDED_REPORT} op en voer uit: python -m audit.verify --subject-access "
                f"{EMBEDDED_REPORT} --public-key <sleutel.pem>. Vergelijk de publieke sleutel "
                "met die van de beheerder of een getuige.", 8, "I")


def _verification(pdf: _Report, verification: Mapping[str, Any] | None) -> None:
    if verification is None:
        return
    signature = ("de handtekening is geldig" if verification["signature_verified"]
                 else "de handtekening is ONGELDIG")
    failed = verification["entries_failed"]
    pdf.line_of(
        f"Gecontroleerd op {verification['verified_at']} tegen dit controlepunt (boomgrootte "
        f"{verification['tree_size']}); {signature}. Geverifieerd: "
        f"{verification['entries_verified']} vermeldingen"
        + (f"; NIET geverifieerd: {failed}" if failed else "")
        + f"; nog niet door dit controlepunt gedekt: "
        f"{verification['entries_awaiting_checkpoint']}.", 8, "B")
    pdf.line_of("Andere personen die een vermelding noemt, staan in dit rapport alleen als "
                "aantal: wat over hen is, is van hen (AVG art. 15 lid 4).", 8, "I")


def _entry(pdf: _Report, number: int, entry: Mapping[str, Any]) -> None:
    pdf.ln(3)
    pdf.heading(f"{number}. {entry['recorded_at']} - {entry['action']}", 10)
    actor = entry.get("actor") if isinstance(entry.get("actor"), Mapping) else {}
    pdf.line_of(f"Gebeurtenis {entry['event_id']}, boomindex {entry['tree_index']}; "
                f"gevonden via {_VIA.get(entry.get('via') or '', entry.get('via'))}")
    pdf.line_of("Door: " + " / ".join(str(v) for v in (actor or {}).values()))
    details = [("Rol", ", ".join(entry.get("roles") or [])), ("Convenant", entry.get("covenant")),
               ("Versie", entry.get("covenant_version")), ("Doel", entry.get("purpose")),
               ("Processtap", entry.get("process_step")), ("Casus", entry.get("case_id")),
               ("Andere personen in deze vermelding (niet genoemd)", entry.get("other_persons"))]
    for label, value in details:
        if value:
            pdf.line_of(f"{label}: {value}")
    categories = list(_categories(entry.get("categories") or []))
    if categories:
        pdf.line_of("Categorieën over de betrokkene: " + "; ".join(categories))
    for recipient in entry.get("recipients") or []:
        pdf.line_of(_recipient(recipient))
    _proof(pdf, entry.get("proof"))


def _recipient(recipient: Mapping[str, Any]) -> str:
    decision = recipient.get("decision") or "onbekend"
    oin = f" (OIN {recipient['oin']})" if recipient.get("oin") else ""
    parts = [f"Ontvanger {recipient['partner']}{oin}: {_DECISIONS.get(decision, decision)}"]
    if recipient.get("identity"):
        parts.append(_LEVELS.get(recipient["identity"], recipient["identity"]))
    if recipient.get("categories_delivered"):
        parts.append("ontvangen: " + ", ".join(recipient["categories_delivered"]))
    grants = recipient.get("grants") or {}
    if grants:
        parts.append("op grond van " + ", ".join(
            f"{category} ({', '.join(ids)})" for category, ids in grants.items()))
    if recipient.get("categories_withheld"):
        parts.append("achtergehouden: " + ", ".join(recipient["categories_withheld"]))
    reasons = [str(r) for r in recipient.get("reasons") or [] if r]
    if reasons:
        parts.append("reden: " + "; ".join(reasons))
    return "; ".join(parts)


def _categories(categories: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for category in categories:
        basis = category.get("legal_basis")
        yield f"{category['id']}" + (f" ({basis})" if basis else "")


def _proof(pdf: _Report, proof: Mapping[str, Any] | None) -> None:
    if proof is None:
        pdf.line_of("Inclusiebewijs: nog niet door een ondertekend controlepunt gedekt.", 8, "I")
        return
    outcome = "geverifieerd" if proof.get("verified") else "NIET geverifieerd"
    pdf.line_of(f"Inclusiebewijs: blad {proof['leaf_index']} van {proof['tree_size']} "
                f"({outcome}), bladhash {proof['leaf_hash']}", 7)
    for index, node in enumerate(proof["hashes"], start=1):
        pdf.line_of(f"  {index}. {node}", 7)


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
