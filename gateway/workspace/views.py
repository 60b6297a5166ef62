"""The workspace pages: thin shells that call the same services as the API.

Every page action passes the signed-in person as the actor (:class:`Person`), so the policy
decision is the partner's and the audit entry names the person beside the partner.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response as BaseResponse

from gateway.auditing.csv_export import events_csv, safe_csv
from gateway.auditing.queries import parse_search
from gateway.auditing.services import Reader
from gateway.auditing.subject_access_pdf import render as render_subject_access_pdf
from gateway.auditing.witness_state import WitnessStateError, parse_witness_state
from gateway.cases.interfaces import CASE_STEPS, TRANSITIONS
from gateway.cases.services import MUNICIPALITY_ROLE, PLANNING_FIELDS, PRIORITIES
from gateway.cases.worklist import WorkListQuery
from gateway.container import Container, current_container
from gateway.delivery.services import EXCHANGE_DELIVERY, parse_limit
from gateway.exchange.interfaces import SUBJECT_ROLES
from gateway.policy.interfaces import Decision, DecisionRequest
from gateway.policy.register import (
    REGISTER_COLUMNS,
    covenant_documents,
    processing_register,
    sight_matrix,
)
from gateway.problems import Problem, unavailable
from gateway.workspace.charts import bar_chart
from gateway.workspace.guard import (
    SESSION_COOKIE,
    live_session,
    may,
    require_person,
    require_person_with_any,
    signed_in,
    workspace,
)
from gateway.workspace.oidc import OidcError
from gateway.workspace.rights_form import (
    CORRECTABLE_FIELDS,
    CORRECTION_PREFIX,
    identifiers_body,
    objection_body,
    rectification_body,
    refusal_messages,
)
from gateway.workspace.roles import Person
from gateway.workspace.sessions import ENROL_STAGE, PASSWORD_STAGE, SIGNED_IN
from gateway.workspace.signal_form import (
    IDENTIFIER_FIELDS,
    case_parties,
    exchange_body,
    field_errors,
    reporting_covenants,
)

PREFIX = "/werkruimte"
LANGUAGES = ("nl", "en")
LANGUAGE_COOKIE = "ketenpoort_taal"
OIDC_STATE_COOKIE = "ketenpoort_oidc"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

log = logging.getLogger(__name__)
blueprint = Blueprint("workspace", __name__, url_prefix=PREFIX,
                      template_folder="templates", static_folder="static")
csrf = CSRFProtect()


def install_workspace(app: Flask, form_key: bytes) -> None:
    """Register the pages, the translations and CSRF protection (for these pages only)."""
    app.secret_key = form_key
    app.config.update(
        SESSION_COOKIE_NAME="ketenpoort_formulier", SESSION_COOKIE_PATH=PREFIX,
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # The token lives as long as the form cookie; sessions expire by the product clock.
        WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=False,
    )
    Babel(app, locale_selector=_language,
          default_translation_directories=str(Path(__file__).parent / "translations"))
    # Checked for these pages only (below): the API authenticates with bearer tokens.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.register_blueprint(blueprint)


def _language() -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else "nl"


@blueprint.context_processor
def _page_context() -> dict[str, Any]:
    return {"person": signed_in(), "may": may, "csrf_token": generate_csrf,
            "language": _language()}


@blueprint.before_request
def _check_form_token() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@blueprint.after_request
def _protect(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = g.get("content_security_policy",
                                                        CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "workspace.static":
        response.headers["Cache-Control"] = "no-store"  # pages may show identities
    return response


@blueprint.errorhandler(Problem)
def _problem_page(problem: Problem) -> Response:
    response = make_response(render_template("problem.html", problem=problem), problem.status)
    response.headers.update({k: v for k, v in problem.headers.items()
                             if k != "WWW-Authenticate"})
    return response


@blueprint.errorhandler(OperationalError)
def _storage_down(_error: OperationalError) -> Response:
    log.warning("workspace page without its database", exc_info=True)
    return _problem_page(unavailable(
        "storage-unavailable", _("The workspace cannot reach its database; try again shortly.")))


@blueprint.errorhandler(CSRFError)
def _csrf_page(_error: CSRFError) -> Response:
    problem = Problem(400, "csrf-failed", _("The form expired"),
                      _("Reload the page and send the form again."))
    return make_response(render_template("problem.html", problem=problem), 400)


# --- signing in and out -------------------------------------------------------------------


@blueprint.get("/")
def home() -> Any:
    if signed_in() is None:
        return redirect(url_for("workspace.sign_in"), 303)
    return render_template("home.html")


@blueprint.route("/inloggen", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method == "GET":
        return render_template("sign_in.html", error=None,
                               providers=sorted(workspace().oidc.providers))
    services = workspace()
    if services.throttle.admit(request.remote_addr or "unknown") is not None:
        return _too_many_attempts()
    check = services.accounts.check_password(request.form.get("email", ""),
                                             request.form.get("password", ""))
    if check.account is None:
        error = (_("Too many failed attempts: this account is locked for 15 minutes.")
                 if check.locked else _("The e-mail address or password is not right."))
        return render_template("sign_in.html", error=error,
                               providers=sorted(services.oidc.providers)), 401
    stage = PASSWORD_STAGE if check.account.totp_enrolled else ENROL_STAGE
    return _start_session(check.account.id, stage,
                          "workspace.second_factor" if stage == PASSWORD_STAGE
                          else "workspace.enrol")


@blueprint.get("/oidc/<partner>")
def oidc_start(partner: str) -> Any:
    try:
        url, state = workspace().oidc.begin(partner, _callback_url(partner))
    except OidcError as exc:
        return _oidc_failed(exc)
    response = redirect(url, 303)
    # Lax, not Strict: the provider's redirect back is a cross-site navigation.
    response.set_cookie(OIDC_STATE_COOKIE, state, path=f"{PREFIX}/oidc", secure=True,
                        httponly=True, samesite="Lax", max_age=600)
    return response


@blueprint.get("/oidc/<partner>/terug")
def oidc_callback(partner: str) -> Any:
    state = request.args.get("state", "")
    bound = request.cookies.get(OIDC_STATE_COOKIE, "")
    try:
        if not state or not secrets.compare_digest(state, bound):
            raise OidcError("the state is not the one this browser began with")
        if "code" not in request.args:
            raise OidcError(f"the provider answered {request.args.get('error', 'no code')}")
        account = workspace().oidc.finish(partner, state, request.args["code"],
                                          _callback_url(partner))
    except OidcError as exc:
        return _oidc_failed(exc)
    token = workspace().sessions.start(account.id, SIGNED_IN,
                                       replacing=request.cookies.get(SESSION_COOKIE))
    session.clear()
    # A page, not a redirect: the next request then counts as same-site, so the browser
    # sends the SameSite=Strict session cookie with it.
    response = make_response(render_template("signed_in.html"))
    response.set_cookie(SESSION_COOKIE, token, path=PREFIX, secure=True, httponly=True,
                        samesite="Strict")
    response.delete_cookie(OIDC_STATE_COOKIE, path=f"{PREFIX}/oidc")
    return response


def _callback_url(partner: str) -> str:
    return url_for("workspace.oidc_callback", partner=partner, _external=True)


def _oidc_failed(error: OidcError) -> Any:
    log.info("OpenID Connect sign-in refused: %s", error)  # the reason is for the log only
    problem = Problem(401, "sign-in-failed", _("Sign-in failed"),
                      _("Your organisation's sign-in could not be completed; try again."))
    return make_response(render_template("problem.html", problem=problem), 401)


@blueprint.route("/tweede-factor", methods=["GET", "POST"])
def second_factor() -> Any:
    return _code_step(PASSWORD_STAGE, "second_factor.html")


@blueprint.route("/koppelen", methods=["GET", "POST"])
def enrol() -> Any:
    return _code_step(ENROL_STAGE, "enrol.html")


@blueprint.post("/uitloggen")
def sign_out() -> Any:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        workspace().sessions.end(token)
    session.clear()
    response = redirect(url_for("workspace.sign_in"), 303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@blueprint.post("/taal")
def choose_language() -> Any:
    chosen = request.form.get("taal", "nl")
    response = redirect(url_for("workspace.home"), 303)
    response.set_cookie(LANGUAGE_COOKIE, chosen if chosen in LANGUAGES else "nl", path=PREFIX,
                        secure=True, httponly=True, samesite="Strict")
    return response


def _code_step(stage: str, template: str) -> Any:
    live = live_session()
    if live is None or live.stage != stage:
        return redirect(url_for("workspace.sign_in"), 303)
    services = workspace()
    uri = None
    if stage == ENROL_STAGE and request.method == "GET":
        uri = services.accounts.start_enrolment(live.user_id)
    if request.method == "GET":
        return render_template(template, error=None, otpauth_uri=uri,
                               secret=_secret_of(uri))
    if services.throttle.admit(request.remote_addr or "unknown") is not None:
        return _too_many_attempts()
    check = services.accounts.check_code(live.user_id, request.form.get("code", ""))
    if check.account is None:
        error = (_("Too many failed attempts: this account is locked for 15 minutes.")
                 if check.locked else _("That code is not right; try the next one."))
        return render_template(template, error=error, otpauth_uri=None, secret=None), 401
    return _start_session(live.user_id, SIGNED_IN, "workspace.home")


def _start_session(user_id: str, stage: str, next_page: str) -> BaseResponse:
    """A new token for each stage: a token from before the sign-in never gains its rights."""
    token = workspace().sessions.start(user_id, stage,
                                       replacing=request.cookies.get(SESSION_COOKIE))
    session.clear()  # and new form tokens
    response = redirect(url_for(next_page), 303)
    response.set_cookie(SESSION_COOKIE, token, path=PREFIX, secure=True, httponly=True,
                        samesite="Strict")
    return response


def _secret_of(uri: str | None) -> str | None:
    if uri is None:
        return None
    query = uri.partition("?")[2]
    return next((part[len("secret="):] for part in query.split("&")
                 if part.startswith("secret=")), None)


def _too_many_attempts() -> Any:
    problem = Problem(429, "too-many-attempts", _("Too many attempts"),
                      _("Wait a minute before you try again."), headers={"Retry-After": "60"})
    response = make_response(render_template("problem.html", problem=problem), 429)
    response.headers["Retry-After"] = "60"
    return response


# --- pages on the services ------------------------------------------------------------------


def _services() -> Container:
    return current_container()


@blueprint.route("/signaal", methods=["GET", "POST"])
@require_person("exchange:write")
def report_signal(person: Person) -> Any:
    container = _services()
    covenants = reporting_covenants(container.bundle, person.partner_id)
    if request.method == "GET":
        return render_template("signal.html", covenants=covenants, form={}, errors={},
                               general=[], roles=SUBJECT_ROLES, identifiers=IDENTIFIER_FIELDS,
                               idempotency_key=uuid.uuid4())
    chosen = next((c for c in covenants if c["id"] == request.form.get("covenant")), None)
    body = exchange_body(request.form, chosen)
    try:
        outcome = container.exchanges.submit(person, body,
                                             request.form.get("idempotency_key") or None)
    except Problem as problem:
        if problem.status >= 500:
            raise
        errors, general = field_errors(problem.errors)
        if not problem.errors:
            general = [problem.detail]
        return render_template("signal.html", covenants=covenants, form=request.form,
                               errors=errors, general=general, roles=SUBJECT_ROLES,
                               identifiers=IDENTIFIER_FIELDS,
                               idempotency_key=uuid.uuid4()), problem.status
    # Decided exchanges are recorded and audited whether or not a recipient was allowed.
    return render_template("signal_sent.html", decisions=outcome.body.get("decisions", []),
                           exchange_id=outcome.body.get("id") or outcome.body.get("exchange_id"),
                           delivered=outcome.status == 201), outcome.status


@blueprint.get("/inbox")
@require_person("inbox:read")
def inbox(person: Person) -> Any:
    page = _services().inbox.read(person, request.args.get("cursor"),
                                  parse_limit(request.args.get("limit")), pending_only=False)
    bundle = _services().bundle
    deliveries = [item for item in page.items if item["type"] == EXCHANGE_DELIVERY]
    managers = {item["covenant"]: case_parties(bundle, item["covenant"], MUNICIPALITY_ROLE)
                for item in deliveries}
    return render_template("inbox.html", items=deliveries, next_cursor=page.next_cursor,
                           messages=[i for i in page.items if i["type"] != EXCHANGE_DELIVERY],
                           case_managers=managers, subject_roles=SUBJECT_ROLES)


@blueprint.post("/casussen")
@require_person("case:write")
def create_case(person: Person) -> Any:
    """The RIEC builds a case from a signal in its inbox, naming persons by its pseudonyms."""
    form = request.form
    body = {"covenant": form.get("covenant", ""), "signals": [form.get("signal", "")],
            "subjects": [{"pseudonym": p, "role": r} for p, r in zip(
                form.getlist("pseudonym"), form.getlist("role"), strict=False)],
            "case_manager": form.get("case_manager", "")}
    case = _services().cases.create(person, body)
    return redirect(url_for("workspace.case", case_id=case["id"]), 303)


@blueprint.post("/casussen/<case_id>/stap")
@require_person("case:write")
def move_case(person: Person, case_id: str) -> Any:
    body = {"to": request.form.get("to", "")}
    if request.form.get("reason", "").strip():
        body["reason"] = request.form["reason"].strip()
    return _case_action(person, case_id, "move",
                        lambda: _services().cases.move(person, case_id, body))


@blueprint.post("/casussen/<case_id>/interventies")
@require_person("case:write")
def assign_intervention(person: Person, case_id: str) -> Any:
    body = {key: request.form.get(key, "").strip()
            for key in ("partner", "intervention", "priority")}
    return _case_action(person, case_id, "assign",
                        lambda: _services().cases.assign(person, case_id, body))


@blueprint.get("/casussen")
@require_person("case:read")
def cases(person: Person) -> Any:
    page = _services().cases.work_list(person, WorkListQuery.from_args(request.args))
    return render_template("cases.html", cases=page["items"], next_cursor=page["next_cursor"],
                           filters={k: v for k, v in request.args.items() if k != "cursor"})


@blueprint.get("/casussen/<case_id>")
@require_person("case:read")
def case(person: Person, case_id: str) -> Any:
    return _case_page(person, case_id, failed=None)


def _case_page(person: Person, case_id: str, failed: dict[str, str] | None) -> str:
    shown = _services().cases.read(person, case_id)
    roles = set(shown["your_roles"])
    moves = [to for to in shown["allowed_moves"] if TRANSITIONS[(shown["step"], to)] & roles]
    return render_template("case.html", case=shown, failed=failed, moves=moves,
                           partners=case_parties(_services().bundle, shown["covenant"]),
                           priorities=PRIORITIES)


@blueprint.post("/casussen/<case_id>/interventies/<assignment_id>/besluit")
@require_person("case:write")
def decide_intervention(person: Person, case_id: str, assignment_id: str) -> Any:
    accept = request.form.get("besluit") == "accepteren"
    body: dict[str, Any] = {"accept": accept}
    if request.form.get("reason", "").strip():
        body["reason"] = request.form["reason"].strip()
    if accept:
        # The partner's own planning, as the API takes it; a field left empty keeps what the
        # RIEC proposed (the priority) or leaves the date open.
        body.update({name: request.form[name].strip() for name in PLANNING_FIELDS
                     if request.form.get(name, "").strip()})
    return _case_action(person, case_id, assignment_id,
                        lambda: _services().cases.answer_assignment(person, case_id,
                                                                    assignment_id, body))


@blueprint.post("/casussen/<case_id>/interventies/<assignment_id>/voortgang")
@require_person("case:write")
def report_progress(person: Person, case_id: str, assignment_id: str) -> Any:
    body = {"note": request.form.get("note", "").strip()}
    return _case_action(person, case_id, assignment_id, lambda: _services().cases.report_progress(
        person, case_id, assignment_id, body))


def _case_action(person: Person, case_id: str, form: str, action: Callable[[], Any]) -> Any:
    """Run a change of the case; back to its page, with the refusal shown at ``form``."""
    return _change(action, url_for("workspace.case", case_id=case_id), lambda message:
                   _case_page(person, case_id, {"form": form, "message": message}))


def _change(action: Callable[[], Any], done: str, refused: Callable[[str], str]) -> Any:
    """Run a service call from a form: on success to ``done`` (post/redirect/get); a
    refusal re-renders the page with its message at the form. 404 and 5xx are error pages."""
    try:
        action()
    except Problem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        return refused("; ".join(e.detail for e in problem.errors) or problem.detail
                       ), problem.status
    return redirect(done, 303)


@blueprint.route("/overleggen", methods=["GET", "POST"])
@require_person("meeting:admin")
def meetings(person: Person) -> Any:
    """*Casusoverleg*: the meetings the RIEC called, and calling a new one."""
    container = _services()
    covenants = [c for c in container.bundle.data["ketenpoort"]["covenants"]
                 if container.cases.parties.party_role(c, person.partner_id) == "regie"]
    if request.method == "POST":
        meeting = container.meetings.create(person, {
            "covenant": request.form.get("covenant", ""), "date": request.form.get("date", ""),
            "participants": request.form.getlist("participants")})
        return redirect(url_for("workspace.meeting", meeting_id=meeting["id"]), 303)
    return render_template("meetings.html", meetings=container.meetings.administered(person),
                           covenants={c: case_parties(container.bundle, c) for c in covenants},
                           today=container.clock.today().isoformat())


@blueprint.get("/overleggen/<meeting_id>")
@require_person("meeting:admin")
def meeting(person: Person, meeting_id: str) -> Any:
    return _meeting_page(person, meeting_id, failed=None)


@blueprint.post("/overleggen/<meeting_id>/punten")
@require_person("meeting:admin")
def add_agenda_item(person: Person, meeting_id: str) -> Any:
    body = {key: request.form.get(key, "").strip()
            for key in ("case_id", "title", "question", "proposed_decision")}
    return _meeting_action(person, meeting_id, "item", lambda: _services().meetings.add_item(
        person, meeting_id, body))


@blueprint.post("/overleggen/<meeting_id>/publiceren")
@require_person("meeting:admin")
def publish_agenda(person: Person, meeting_id: str) -> Any:
    return _meeting_action(person, meeting_id, "publish",
                           lambda: _services().meetings.publish(person, meeting_id))


@blueprint.post("/overleggen/<meeting_id>/punten/<item_id>/uitkomst")
@require_person("meeting:admin")
def record_outcome(person: Person, meeting_id: str, item_id: str) -> Any:
    body = {key: value.strip() for key in ("approach", "assigned_partner", "move_to")
            if (value := request.form.get(key, "")).strip()}
    return _meeting_action(person, meeting_id, item_id, lambda: _services().meetings
                           .record_outcome(person, meeting_id, item_id, body))


def _meeting_page(person: Person, meeting_id: str, failed: dict[str, str] | None) -> str:
    container = _services()
    routing = container.meetings.routing(person, meeting_id)
    return render_template("meeting.html", routing=routing, failed=failed,
                           cases=container.cases.involved(person), steps=CASE_STEPS)


def _meeting_action(person: Person, meeting_id: str, form: str,
                    action: Callable[[], Any]) -> Any:
    return _change(action, url_for("workspace.meeting", meeting_id=meeting_id), lambda message:
                   _meeting_page(person, meeting_id, {"form": form, "message": message}))


@blueprint.get("/agenda")
@require_person("meeting:read")
def agendas(person: Person) -> Any:
    return render_template("agendas.html", agendas=_services().meetings.agendas(person))


@blueprint.get("/agenda/<meeting_id>")
@require_person("meeting:read")
def agenda(person: Person, meeting_id: str) -> Any:
    return render_template("agenda.html", agenda=_services().meetings.agenda(person, meeting_id))



# --- the privacy officer's pages -----------------------------------------------------------

AUDIT_SCOPES = ("audit:read", "audit:own")
HISTORY_LENGTH = 20
# The proof pages run the browser's own verifier (static/logproof.js): scripts from this
# origin only, never inline; the proofs travel as a JSON data block, which never runs.
VERIFYING_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"


def _reader(person: Person) -> Reader:
    return Reader(person.partner_id, person.client_id, person.person_id,
                  sees_all=may("audit:read"))


def _search_arguments(values: Any, *, posted: bool) -> dict[str, str]:
    """The filled-in filters of the search form (an empty field is no filter)."""
    skipped = {"csrf_token", "format"} if posted else {"format"}
    return {name: value.strip() for name, value in values.items()
            if name not in skipped and value.strip()}


@blueprint.route("/privacy/audit", methods=["GET", "POST"])
@require_person_with_any(*AUDIT_SCOPES)
def audit_search(person: Person) -> Any:
    """The log, filtered; a pseudonym is only ever POSTed, so it stays out of URLs and logs."""
    posted = request.method == "POST"
    arguments = _search_arguments(request.form if posted else request.args, posted=posted)
    as_csv = (request.form if posted else request.args).get("format") == "csv"
    try:
        query = parse_search(arguments, in_url=not posted)
        page = _services().audit_reader.search(_reader(person), query,
                                               "csv" if as_csv else "json")
    except Problem as problem:
        if problem.status >= 500:
            raise
        errors, general = _query_errors(problem)
        return render_template("audit_search.html", form=arguments, items=[],
                               next_cursor=None, errors=errors, general=general,
                               searched=False, posted=posted), problem.status
    if as_csv:
        return _download(events_csv(page.items, may("audit:read")), "audit-events.csv")
    return render_template("audit_search.html", form=arguments, items=page.items,
                           next_cursor=page.next_cursor, errors={}, general=[],
                           searched=True, posted=posted)


def _query_errors(problem: Problem) -> tuple[dict[str, str], list[str]]:
    """A query's errors at the form fields named like its parameters (``/from`` is the
    field ``from``); a refusal without field errors is shown above the form."""
    if not problem.errors:
        return {}, [problem.detail]
    return {error.pointer.lstrip("/"): error.detail for error in problem.errors}, []


def _download(text: str, filename: str) -> Response:
    response = make_response(text)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _verifying(template: str, **context: Any) -> Response:
    g.content_security_policy = VERIFYING_POLICY
    return make_response(render_template(template, **context))


def _proof_messages() -> dict[str, str]:
    return {
        "verified": _("verified"), "not_verified": _("not verified"),
        "failed_detail": _("a check below failed; do not rely on this page"),
        "signature": _("Checkpoint signature"), "size": _("Proof is against the signed size"),
        "leaf": _("The entry shown is the entry in the log"),
        "inclusion": _("Inclusion proof leads to the signed root"),
        "consistency": _("Consistency proof"), "witnessed": _("seen by the witness"),
        "latest": _("latest"),
        "pinned_now": _("This browser now trusts the checkpoint key(s):"),
        "pinned": _("This browser trusts the checkpoint key(s) it pinned:"),
    }


@blueprint.get("/privacy/audit/<event_id>")
@require_person_with_any(*AUDIT_SCOPES)
def audit_entry(person: Person, event_id: str) -> Any:
    reader = _services().audit_reader
    proof = reader.inclusion_proof(_reader(person), event_id, None)
    note = reader.signed_notes([proof["tree_size"]])[proof["tree_size"]]
    data = {"kind": "entry", "entry": proof["entry"], "leaf_hash": proof["leaf_hash"],
            "leaf_index": proof["leaf_index"], "tree_size": proof["tree_size"],
            "hashes": proof["hashes"], "signed_note": note, "keys": reader.public_keys(),
            "messages": _proof_messages()}
    return _verifying("audit_entry.html", proof=proof, data=data, note=note)


@blueprint.get("/privacy/controlepunten")
@require_person_with_any(*AUDIT_SCOPES)
def checkpoint_history(person: Person) -> Any:
    reader = _services().audit_reader
    history = reader.checkpoint_history(HISTORY_LENGTH)
    notes = reader.signed_notes([c["tree_size"] for c in history])
    data = {"kind": "history", "keys": reader.public_keys(), "messages": _proof_messages(),
            "checkpoints": [{"signed_note": notes[c["tree_size"]],
                             "consistency_with_previous": c["consistency_with_previous"]}
                            for c in history]}
    return _verifying("checkpoints.html", history=history, data=data)


@blueprint.route("/privacy/getuige", methods=["GET", "POST"])
@require_person_with_any(*AUDIT_SCOPES)
def witness_status(person: Person) -> Any:
    """What the witness last verified (its state file, pasted), proven against the log's
    latest checkpoint in the browser with the keys the witness pinned, not the server's."""
    reader = _services().audit_reader
    if request.method == "GET":
        return _verifying("witness.html", data=None, error=None, state_text="")
    state_text = request.form.get("state", "")
    try:
        seen, keys = parse_witness_state(state_text)
    except WitnessStateError as error:
        return _witness_refused(str(error), state_text)
    latest = reader.latest_checkpoint()
    size = latest["tree_size"]
    if seen["tree_size"] > size:
        return _witness_refused(_("The log's latest checkpoint is smaller than the one the "
                                  "witness verified: the log was rolled back."), state_text)
    data = {"kind": "witness", "witnessed": seen, "witness_keys": keys,
            # The note of the very size proven to, even if a newer checkpoint was just signed.
            "signed_note": reader.signed_notes([size])[size],
            "hashes": reader.consistency_proof(seen["tree_size"], size)["hashes"],
            "keys": reader.public_keys(), "messages": _proof_messages()}
    return _verifying("witness.html", data=data, error=None, state_text=state_text,
                      seen=seen, latest=latest)


def _witness_refused(reason: str, state_text: str) -> Response:
    response = _verifying("witness.html", data=None, error=reason, state_text=state_text)
    response.status_code = 422
    return response


@blueprint.get("/privacy/statistieken")
@require_person("statistics:read")
def statistics(person: Person) -> Any:
    arguments = {k: v for k, v in request.args.items() if k != "format" and v.strip()}
    try:
        report = _services().statistics.report(person, arguments)
    except Problem as problem:
        if problem.status >= 500:
            raise
        errors, general = _query_errors(problem)
        return render_template("statistics.html", report=None, charts={}, form=arguments,
                               errors=errors, general=general), problem.status
    if request.args.get("format") == "csv":
        rows = ([table, cell["month"], cell["value"], cell["count"]]
                for table, cells in report["tables"].items() for cell in cells)
        return _download(safe_csv(("table", "month", "value", "count"), rows),
                         "statistieken.csv")
    charts = {table: bar_chart(cells) for table, cells in report["tables"].items()}
    return render_template("statistics.html", report=report, charts=charts, form=arguments,
                           errors={}, general=[])


@blueprint.get("/privacy/convenanten")
@require_person_with_any(*AUDIT_SCOPES)
def covenants(person: Person) -> Any:
    documents = covenant_documents(_services().bundle.data)
    return render_template("covenants.html", covenants=documents)


@blueprint.route("/privacy/convenanten/<covenant_id>", methods=["GET", "POST"])
@require_person_with_any(*AUDIT_SCOPES)
def covenant(person: Person, covenant_id: str) -> Any:
    bundle = _services().bundle
    document = covenant_documents(bundle.data).get(covenant_id)
    if document is None:
        raise Problem(404, "no-such-covenant", _("Not found"), _("There is no such covenant."))
    steps = bundle.process_steps
    step = request.values.get("stap", steps[0])
    if step not in steps:
        step = steps[0]
    explained = _explain(covenant_id, document) if request.method == "POST" else None
    return render_template("covenant.html", covenant=document, steps=steps, step=step,
                           matrix=sight_matrix(document, step),
                           partners=sorted(p["partner"] for p in document["parties"]),
                           explained=explained, form=request.form)


def _explain(covenant_id: str, document: dict[str, Any]) -> Decision | str:
    """``covenant explain`` from the form: the policy's decision and its reasons."""
    form = request.form
    categories = tuple(form.getlist("category"))
    if not categories or not form.get("provider") or not form.get("recipient"):
        return str(_("Choose a provider, a recipient and at least one category."))
    decision: Decision = _services().policy.decide(DecisionRequest(
        covenant=covenant_id, purpose=document["purposes"][0]["id"],
        process_step=form.get("stap", ""), provider=form.get("provider", ""),
        recipient=form.get("recipient", ""), categories=categories,
        today=_services().clock.today().isoformat(),
        recipient_assigned=form.get("assigned") == "ja"))
    return decision


@blueprint.get("/privacy/verwerkingsregister")
@require_person_with_any(*AUDIT_SCOPES)
def processing_activities(person: Person) -> Any:
    rows = processing_register(_services().bundle.data)
    if request.args.get("format") == "csv":
        return _download(safe_csv(REGISTER_COLUMNS, ([row[c] for c in REGISTER_COLUMNS]
                                                     for row in rows)),
                         "verwerkingsregister.csv")
    return render_template("register.html", rows=rows)


@blueprint.get("/privacy/vier-ogen")
@require_person("reidentify")
def four_eyes(person: Person) -> Any:
    return _four_eyes_page(person, failed=None)


def _four_eyes_page(person: Person, failed: dict[str, str] | None) -> str:
    return render_template("four_eyes.html", failed=failed,
                           waiting=_services().reidentifications.pending(person))


@blueprint.post("/privacy/vier-ogen/<reidentification_id>/<decision>")
@require_person("reidentify")
def decide_reidentification(person: Person, reidentification_id: str, decision: str) -> Any:
    """Approve (``goedkeuren``) or deny (``afwijzen``), as the API's approve and deny do."""
    service = _services().reidentifications
    decide = {"goedkeuren": service.approve, "afwijzen": service.deny}.get(decision)
    if decide is None:
        raise Problem(404, "no-such-decision", _("Not found"), _("There is no such decision."))
    return _change(
        lambda: decide(person, reidentification_id), url_for("workspace.four_eyes"),
        lambda message: _four_eyes_page(person, {"form": reidentification_id,
                                                 "message": message}))



# --- the data subject's rights (AVG art. 15, 16, 18, 21) -----------------------------------
# Identifiers are only ever POSTed: they never reach an address, a redirect or a link.

RIGHTS = "rights:write"


@blueprint.route("/privacy/inzage", methods=["GET", "POST"])
@require_person("audit:read")
def subject_access(person: Person) -> Any:
    """Every log entry about the person (as ``POST /v1/audit/subject-access``), or its PDF."""
    if request.method == "GET":
        return _rights_form("subject_access.html", report=None)
    try:
        report = _services().subject_access.report(_reader(person),
                                                   identifiers_body(request.form))
    except Problem as problem:
        return _rights_refused("subject_access.html", problem, report=None)
    if request.form.get("format") == "pdf":
        response = make_response(render_subject_access_pdf(report))
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = 'attachment; filename="inzage.pdf"'
        return response
    return _rights_form("subject_access.html", report=report)


@blueprint.route("/privacy/rectificatie", methods=["GET", "POST"])
@require_person(RIGHTS)
def rectification(person: Person) -> Any:
    if request.method == "GET":
        return _rights_form("rectification.html", result=None)
    try:
        result = _services().rights.rectify(person, rectification_body(request.form))
    except Problem as problem:
        return _rights_refused("rectification.html", problem, result=None)
    return _rights_form("rectification.html", result=result), 201


@blueprint.route("/privacy/bezwaar", methods=["GET", "POST"])
@require_person(RIGHTS)
def objection(person: Person) -> Any:
    covenants = _party_covenants(person)
    if request.method == "GET":
        return _rights_form("objection.html", result=None, covenants=covenants)
    try:
        result = _services().rights.object(person, objection_body(request.form))
    except Problem as problem:
        return _rights_refused("objection.html", problem, result=None, covenants=covenants)
    return _rights_form("objection.html", result=result, covenants=covenants), 201


@blueprint.route("/privacy/beperking", methods=["GET", "POST"])
@require_person(RIGHTS)
def restriction(person: Person) -> Any:
    """Place a restriction (post/redirect/get), and the partner's restrictions in force."""
    if request.method == "GET":
        return _restriction_page(person, failed=None)
    try:
        _services().rights.restrict(person, identifiers_body(request.form))
    except Problem as problem:
        if problem.status >= 500:
            raise
        errors, general = refusal_messages(problem)
        return _restriction_page(person, failed=None, form=request.form, errors=errors,
                                 general=general), problem.status
    return redirect(url_for("workspace.restriction"), 303)


@blueprint.post("/privacy/beperking/<restriction_id>/opheffen")
@require_person(RIGHTS)
def lift_restriction(person: Person, restriction_id: str) -> Any:
    """The first officer asks to lift; another officer of the partner approves (four eyes)."""
    return _change(lambda: _services().rights.lift(person, restriction_id),
                   url_for("workspace.restriction"), lambda message: _restriction_page(
                       person, failed={"form": restriction_id, "message": message}))


def _restriction_page(person: Person, failed: dict[str, str] | None,
                      form: Any = None, errors: dict[str, str] | None = None,
                      general: list[str] | None = None) -> str:
    return render_template("restriction.html", failed=failed, form=form or {},
                           errors=errors or {}, general=general or [],
                           restrictions=_services().rights.restrictions(person))


def _party_covenants(person: Person) -> list[str]:
    covenants = _services().bundle.data["ketenpoort"]["covenants"]
    return sorted(c for c, document in covenants.items()
                  if person.partner_id in {p["partner"] for p in document.get("parties", ())})


def _rights_form(template: str, **context: Any) -> str:
    """A rights page with its form as filled in (the page is never stored: no-store)."""
    return render_template(template, form=request.form, errors={}, general=[],
                           correctable=CORRECTABLE_FIELDS, prefix=CORRECTION_PREFIX, **context)


def _rights_refused(template: str, problem: Problem, **context: Any) -> Any:
    if problem.status >= 500:
        raise problem
    errors, general = refusal_messages(problem)
    return render_template(template, form=request.form, errors=errors, general=general,
                           correctable=CORRECTABLE_FIELDS, prefix=CORRECTION_PREFIX,
                           **context), problem.status
