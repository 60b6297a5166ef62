"""POST /oauth/token: client-credentials grant with client_secret_basic and private_key_jwt."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.auth.services import ClientService, TokenService, revocation_check

from .conftest import TOKEN_ENDPOINT
from .factories import assertion, hand_made_jwt, key_client, secret_client

# Partners may still sign assertions with "EdDSA", which joserfc flags as superseded by RFC 9864.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# authlib's one answer for every failed secret login, whatever the cause.
_NO_METHOD_WORKED = (
    "The client cannot authenticate with methods: ['client_secret_basic', 'private_key_jwt']"
)


def request_with_secret(
    http: FlaskClient, client_id: str, secret: str, **form: str
) -> TestResponse:
    return http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
    )


def request_with_assertion(http: FlaskClient, signed: str, **form: str) -> TestResponse:
    return http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            **form,
        },
    )


def assert_invalid_client(
    response: TestResponse, status: int, description: str = _NO_METHOD_WORKED
) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json == {"error": "invalid_client", "error_description": description}


def test_secret_basic_issues_a_token_for_the_client(
    http: FlaskClient, session: Session, tokens: TokenService
) -> None:
    client, secret = secret_client(session, partner_id="politie")

    response = request_with_secret(http, client.client_id, secret)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "exchange:write inbox:read"
    principal = tokens.verify(body["access_token"], revocation_check(session))
    assert principal.client_id == client.client_id
    assert principal.partner_id == "politie"
    assert principal.scopes == {"exchange:write", "inbox:read"}


def test_wrong_secret_is_refused(http: FlaskClient, session: Session) -> None:
    client, _secret = secret_client(session)

    response = request_with_secret(http, client.client_id, "not-the-secret")

    assert_invalid_client(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(
    http: FlaskClient, session: Session
) -> None:
    client, _secret = secret_client(session)

    wrong_secret = request_with_secret(http, client.client_id, "not-the-secret")
    unknown = request_with_secret(http, "no-such-client", "whatever")

    assert_invalid_client(unknown, 401)
    assert unknown.json == wrong_secret.json


def test_revoked_client_gets_no_token(http: FlaskClient, session: Session) -> None:
    client, secret = secret_client(session)
    ClientService().revoke(session, client.client_id)
    session.commit()

    assert_invalid_client(request_with_secret(http, client.client_id, secret), 401)


def test_secret_sent_in_the_form_is_not_accepted(http: FlaskClient, session: Session) -> None:
    client, secret = secret_client(session)

    response = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )

    assert_invalid_client(response, 401)


def test_unsupported_grant_type_is_an_rfc6749_error(http: FlaskClient, session: Session) -> None:
    client, secret = secret_client(session)

    response = http.post(
        "/oauth/token", data={"grant_type": "password"}, auth=(client.client_id, secret)
    )

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (None, "exchange:write inbox:read"),
        ("", "exchange:write inbox:read"),
        ("inbox:read", "inbox:read"),
        ("inbox:read exchange:write", "exchange:write inbox:read"),
    ],
)
def test_requested_scope_within_the_clients_scopes_is_granted(
    http: FlaskClient, session: Session, requested: str | None, granted: str
) -> None:
    client, secret = secret_client(session)
    form = {} if requested is None else {"scope": requested}

    response = request_with_secret(http, client.client_id, secret, **form)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    assert response.json["scope"] == granted


@pytest.mark.parametrize("requested", ["reidentify", "inbox:read reidentify", "no-such-scope"])
def test_scope_beyond_the_clients_scopes_is_refused(
    http: FlaskClient, session: Session, requested: str
) -> None:
    client, secret = secret_client(session)

    response = request_with_secret(http, client.client_id, secret, scope=requested)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_scope"
    assert "access_token" not in response.json


def _rsa_key() -> Key:
    return RSAKey.generate_key(2048, auto_kid=True)


def _ec_key() -> Key:
    return ECKey.generate_key("P-256", auto_kid=True)


def _ed25519_key() -> Key:
    return OKPKey.import_key(Ed25519PrivateKey.generate())


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [(_rsa_key, "RS256"), (_rsa_key, "PS256"), (_ec_key, "ES256"), (_ed25519_key, "EdDSA"),
     (_ed25519_key, "Ed25519")],
)
def test_private_key_jwt_issues_a_token(
    http: FlaskClient, session: Session, tokens: TokenService, make_key: Callable[[], Key], alg: str
) -> None:
    client, key = key_client(session, make_key(), partner_id="gemeente-utrecht")

    response = request_with_assertion(
        http, assertion(key, client.client_id, TOKEN_ENDPOINT, alg=alg)
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    principal = tokens.verify(response.json["access_token"], revocation_check(session))
    assert principal.client_id == client.client_id
    assert principal.partner_id == "gemeente-utrecht"


def test_replayed_assertion_is_refused(http: FlaskClient, session: Session) -> None:
    client, key = key_client(session)
    signed = assertion(key, client.client_id, TOKEN_ENDPOINT)

    first = request_with_assertion(http, signed)
    replay = request_with_assertion(http, signed)

    assert first.status_code == 200
    assert_invalid_client(replay, 400, "JWT ID is used before.")


def test_fresh_jti_after_a_spent_one_is_accepted(http: FlaskClient, session: Session) -> None:
    client, key = key_client(session)

    first = request_with_assertion(http, assertion(key, client.client_id, TOKEN_ENDPOINT))
    second = request_with_assertion(http, assertion(key, client.client_id, TOKEN_ENDPOINT))

    assert (first.status_code, second.status_code) == (200, 200)


@pytest.mark.parametrize(
    "audience",
    ["https://elsewhere.example/oauth/token", "https://ketenpoort.test", "ketenpoort"],
)
def test_assertion_for_another_audience_is_refused(
    http: FlaskClient, session: Session, audience: str
) -> None:
    client, key = key_client(session)

    response = request_with_assertion(http, assertion(key, client.client_id, audience))

    assert_invalid_client(response, 400, "Invalid claim: 'aud'")


def test_expired_assertion_is_refused(http: FlaskClient, session: Session) -> None:
    client, key = key_client(session)

    response = request_with_assertion(
        http, assertion(key, client.client_id, TOKEN_ENDPOINT, expires_in=-120,
                        iat=int(time.time()) - 240)
    )

    assert_invalid_client(response, 400, "The token is expired")


LIFETIME_TOO_LONG = "the assertion may live at most 300 s (exp - iat)"


@pytest.mark.parametrize(("issued_in", "expires_in", "description"), [
    (0, 10 * 365 * 86400, LIFETIME_TOO_LONG),
    (0, 301, LIFETIME_TOO_LONG),
    ("now", 60, "the assertion needs numeric iat and exp"),
    (3600, 3700, "The token was issued in the future"),
])
def test_assertion_lifetime_is_bounded(
    http: FlaskClient, session: Session, issued_in: int | str, expires_in: int, description: str
) -> None:
    client, key = key_client(session)
    issued = int(time.time()) + issued_in if isinstance(issued_in, int) else issued_in

    response = request_with_assertion(http, assertion(
        key, client.client_id, TOKEN_ENDPOINT, expires_in=expires_in, iat=issued))

    assert_invalid_client(response, 400, description)


def test_an_assertion_without_iat_is_refused(http: FlaskClient, session: Session) -> None:
    client, key = key_client(session)
    now = int(time.time())
    payload = {"iss": client.client_id, "sub": client.client_id, "aud": TOKEN_ENDPOINT,
               "exp": now + 60, "jti": "no-iat"}
    signed = jwt.encode({"alg": "ES256", "kid": key.kid}, payload, key, algorithms=["ES256"])

    response = request_with_assertion(http, signed)

    assert_invalid_client(response, 400, "the assertion needs numeric iat and exp")


def test_assertion_signed_by_an_unregistered_key_is_refused(
    http: FlaskClient, session: Session
) -> None:
    client, registered = key_client(session)
    impostor = ECKey.generate_key("P-256", parameters={"kid": registered.kid})

    response = request_with_assertion(http, assertion(impostor, client.client_id, TOKEN_ENDPOINT))

    assert_invalid_client(response, 400, "bad_signature")


def test_assertion_with_alg_none_is_refused(http: FlaskClient, session: Session) -> None:
    client, key = key_client(session)
    signed = assertion(key, client.client_id, TOKEN_ENDPOINT)
    claims = jwt.decode(signed, key).claims
    unsigned = hand_made_jwt({"alg": "none", "kid": key.kid}, claims)

    assert_invalid_client(
        request_with_assertion(http, unsigned), 400, "Algorithm of 'none' is not allowed"
    )


def test_assertion_with_hmac_over_the_public_key_is_refused(
    http: FlaskClient, session: Session
) -> None:
    client, key = key_client(session)
    claims = jwt.decode(assertion(key, client.client_id, TOKEN_ENDPOINT), key).claims
    forged = hand_made_jwt({"alg": "HS256", "kid": key.kid}, claims, key.as_pem(private=False))

    assert_invalid_client(
        request_with_assertion(http, forged), 400, "Algorithm of 'HS256' is not allowed"
    )


def test_assertion_with_iss_differing_from_sub_is_refused(
    http: FlaskClient, session: Session
) -> None:
    client, key = key_client(session)
    other, _secret = secret_client(session)

    response = request_with_assertion(
        http, assertion(key, client.client_id, TOKEN_ENDPOINT, iss=other.client_id)
    )

    assert_invalid_client(response, 400, "Issuer and Subject MUST match.")


def test_secret_client_cannot_authenticate_with_an_assertion(
    http: FlaskClient, session: Session
) -> None:
    client, _secret = secret_client(session)
    key = ECKey.generate_key("P-256", auto_kid=True)

    response = request_with_assertion(http, assertion(key, client.client_id, TOKEN_ENDPOINT))

    assert_invalid_client(response, 400, "the client has no registered public key")


def test_key_client_cannot_fall_back_to_its_old_secret(
    http: FlaskClient, session: Session
) -> None:
    client, secret = secret_client(session)
    ClientService().register_jwk(
        session, client.client_id, ECKey.generate_key("P-256").as_dict(private=False)
    )
    session.commit()

    assert_invalid_client(request_with_secret(http, client.client_id, secret), 401)


@pytest.mark.parametrize("jti", ["j" * 256, "nul\x00byte"])
def test_jti_the_database_cannot_hold_is_refused_without_a_database_error(
    http: FlaskClient, session: Session, jti: str
) -> None:
    client, key = key_client(session)

    signed = assertion(key, client.client_id, TOKEN_ENDPOINT, jti=jti)

    response = request_with_assertion(http, signed)

    assert_invalid_client(response, 400, "jti must be printable and at most 255 characters")


@pytest.mark.parametrize("client_id", ["nul\x00byte", "x" * 500])
def test_odd_client_ids_are_unknown_clients_not_database_errors(
    http: FlaskClient, client_id: str
) -> None:
    assert_invalid_client(request_with_secret(http, client_id, "secret"), 401)


def test_odd_assertion_subject_is_an_unknown_client(http: FlaskClient, session: Session) -> None:
    _client, key = key_client(session)

    response = request_with_assertion(http, assertion(key, "nul\x00byte", TOKEN_ENDPOINT))

    assert_invalid_client(response, 400, "The client does not exist on this server.")


def test_jwks_publishes_the_key_that_verifies_issued_tokens(
    http: FlaskClient, session: Session
) -> None:
    client, secret = secret_client(session)
    issued = request_with_secret(http, client.client_id, secret).json
    assert issued is not None

    response = http.get("/.well-known/jwks.json")

    assert response.status_code == 200
    published = response.json
    assert published is not None
    assert all("d" not in key for key in published["keys"])
    decoded = jwt.decode(
        issued["access_token"], KeySet.import_key_set(published), algorithms=["Ed25519"]
    )
    assert decoded.claims["sub"] == decoded.claims["client_id"] == client.client_id
    # RFC 9068: a JWT access token says what it is and carries these claims.
    assert decoded.header["typ"] == "at+jwt"
    assert {"iss", "exp", "aud", "sub", "client_id", "iat", "jti", "scope"} <= set(decoded.claims)


def test_metadata_describes_this_server(http: FlaskClient) -> None:
    response = http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    metadata = response.json
    assert metadata is not None
    assert metadata["issuer"] == "https://ketenpoort.test"
    assert metadata["token_endpoint"] == TOKEN_ENDPOINT
    assert metadata["jwks_uri"] == "https://ketenpoort.test/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "private_key_jwt",
    }
    assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]
