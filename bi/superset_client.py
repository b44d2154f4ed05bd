"""A small client of Superset's REST API (standard library only).

It logs in through the login form, as a browser does, so the same session cookie serves the
REST API (with Superset's CSRF token) and a headless browser taking a screenshot.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

_CSRF_INPUT = re.compile(r'id="csrf_token"\s+value="([^"]+)"')


class SupersetError(Exception):
    """An API call that failed; the message holds the method, the path and Superset's reply."""


def rison(value: Any) -> str:
    """Rison encoding of the few shapes Superset's list queries need (q=...)."""
    if isinstance(value, bool):
        return "!t" if value else "!f"
    if value is None:
        return "!n"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/~]*", value):
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(rison(item) for item in value) + ")"
    if isinstance(value, dict):
        return "(" + ",".join(f"{key}:{rison(item)}" for key, item in value.items()) + ")"
    raise TypeError(f"cannot rison-encode {type(value).__name__}")


class SupersetClient:
    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self._csrf: str | None = None

    # ------------------------------------------------------------------ plumbing
    def _open(self, request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def request(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201)
    ) -> Any:
        headers = {"Accept": "application/json", "Referer": self.base_url + "/"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET" and self._csrf:
            headers["X-CSRFToken"] = self._csrf
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        status, payload = self._open(request)
        if status not in ok:
            raise SupersetError(
                f"{method} {path} -> {status}: {payload[:2000].decode(errors='replace')}"
            )
        return json.loads(payload) if payload else None

    def get(self, path: str, **query: Any) -> Any:
        if query:
            path += "?q=" + urllib.parse.quote(rison(query))
        return self.request("GET", path)

    # ------------------------------------------------------------------ session
    def login(self, username: str, password: str) -> None:
        """Log in through the form (session cookie), then fetch the API's CSRF token."""
        status, page = self._open(urllib.request.Request(self.base_url + "/login/"))
        match = _CSRF_INPUT.search(page.decode(errors="replace"))
        if status != 200 or match is None:
            raise SupersetError(f"GET /login/ -> {status}: no login form")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": match.group(1)}
        ).encode()
        self._open(
            urllib.request.Request(
                self.base_url + "/login/",
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                method="POST",
            )
        )
        try:
            self._csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]
        except SupersetError as exc:
            raise SupersetError(f"login as {username} failed: {exc}") from exc

    def session_cookies(self) -> list[dict[str, Any]]:
        """The session cookies, for a browser."""
        return [
            {"name": cookie.name, "value": cookie.value or "", "domain": cookie.domain,
             "path": cookie.path or "/"}
            for cookie in self.cookies
        ]  # fmt: skip

    # ------------------------------------------------------------------ objects
    def find(self, resource: str, column: str, value: Any) -> dict[str, Any] | None:
        """The first object of /api/v1/<resource>/ whose `column` equals `value`."""
        reply = self.get(
            f"/api/v1/{resource}/",
            filters=[{"col": column, "opr": "eq", "value": value}],
            page_size=100,
        )
        for item in reply.get("result", []):
            return item
        return None

    def chart_data(self, chart_id: int) -> list[dict[str, Any]]:
        """The rows of a saved chart's query, through the chart-data API."""
        reply = self.request("GET", f"/api/v1/chart/{chart_id}/data/?format=json&type=full")
        return reply["result"][0]["data"]
