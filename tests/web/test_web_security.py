"""The panel's own security: redirects stay on the panel, logout ends every copy of the
session, failed logins back off without locking anyone out, HTTPS with a Secure cookie."""

import http.cookiejar
import ssl
import urllib.request

import pytest

from bench.cli.up import panel_tls_wanted
from bench.security.backoff import Backoff
from bench.security.pki import ensure_pki, panel_ssl_context
from web.serve import start_panel
from web.users import add_user


def login_form(client, helpers, name, password, **extra):  # type: ignore[no-untyped-def]
    token = helpers.token_of(client.get("/login").get_data(as_text=True))
    data = {"username": name, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "/ /evil.example/",
        "https://evil.example/",
        "/\\evil.example/",
        "//evil.example/",
    ],
)
def test_login_next_never_leaves_the_panel(app, helpers, target):
    client = app.test_client()
    response = login_form(client, helpers, "olga", helpers.passwords["olga"], next=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_next_within_the_panel_is_kept(app, helpers):
    client = app.test_client()
    response = login_form(client, helpers, "olga", helpers.passwords["olga"], next="/trace")
    assert response.headers["Location"] == "/trace"


def test_logout_voids_every_copy_of_the_session_cookie(app, helpers):
    client = app.test_client()
    token = helpers.login(client, "olga")
    stolen = client.get_cookie("bench_panel").value
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 302
    other = app.test_client()
    other.set_cookie("bench_panel", stolen)
    assert other.get("/api/snapshot").status_code == 401
    assert other.get("/").status_code == 302  # to the login form


def test_failed_logins_back_off_but_the_right_password_still_works(app, helpers):
    waits: list[float] = []
    app.config["LOGIN_SLEEP"] = waits.append
    app.extensions["bench_login_backoff"] = Backoff(free=3, base=1.0, cap=8.0)
    client = app.test_client()
    for _ in range(6):
        assert login_form(client, helpers, "olga", "wrong-password").status_code == 401
    assert waits == [1.0, 2.0, 4.0]  # after 3 free failures, doubling
    response = login_form(client, helpers, "olga", helpers.passwords["olga"])
    assert response.status_code == 302  # never locked out
    # Guessing another user's password from elsewhere is slowed by that user's count too.
    assert app.extensions["bench_login_backoff"].failures(("user", "olga")) == 6


def test_panel_tls_is_on_by_default_beyond_this_machine():
    assert panel_tls_wanted("0.0.0.0") and panel_tls_wanted("192.168.1.20")
    assert not panel_tls_wanted("127.0.0.1") and not panel_tls_wanted("localhost")
    assert panel_tls_wanted("127.0.0.1", "on") and not panel_tls_wanted("0.0.0.0", "off")


def test_the_panel_over_https_sets_a_secure_cookie(system, loop, tmp_path):
    pki = ensure_pki(tmp_path / "pki")
    add_user(tmp_path, "olga", "operator-pass-1", "operator")
    url, stop = start_panel(
        system, loop, tmp_path, port=0, ssl_context=panel_ssl_context(tmp_path / "pki", "127.0.0.1")
    )
    try:
        assert url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(jar),
            urllib.request.ProxyHandler({}),
        )
        with opener.open(url + "login", timeout=10) as response:
            assert response.status == 200
            cookie = response.headers.get("Set-Cookie", "")
        assert "bench_panel=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    finally:
        stop()
