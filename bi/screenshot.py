"""Screenshot of a Superset dashboard with headless Chromium (Debian's ``chromium``).

    .venv-bi/bin/python bi/screenshot.py --url http://127.0.0.1:8088 --user admin \\
        --password ... --dashboard shopfunnel-case-study --charts 9 --out docs/dashboard.png

Logs in through Superset's form (bi/superset_client.py), hands the session cookie to a
fresh headless Chromium (its own --user-data-dir, no sandbox, no GPU, no background
networking), opens the dashboard through the DevTools protocol, waits until the dashboard
has received the data of every chart and no chart is loading, and saves a full-page PNG.
With ``--chart-data FILE`` it also writes the chart-data replies the dashboard itself
received, so a test can compare what the page shows with the marts.

Needs ``websocket-client`` (installed in .venv-bi with Superset).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websocket
from superset_client import SupersetClient

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
LOADING = "document.querySelectorAll('.loading, [aria-label=\"Loading\"], .ant-skeleton').length"


class DevTools:
    """A minimal DevTools-protocol session over the browser's websocket."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=120, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def drain(self, seconds: float) -> None:
        """Collect events for a while (network replies arrive as events)."""
        self.socket.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.socket.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.socket.settimeout(120)


def _start_chromium(profile: Path, binary: str) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.is_file():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return process, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            raise RuntimeError(f"{binary} exited with {process.returncode} before it listened")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{binary} did not open its DevTools port within 60 s")


def screenshot(
    client: SupersetClient,
    dashboard_url: str,
    charts: int,
    out: Path,
    *,
    width: int = 1600,
    height: int = 1500,
    binary: str = "chromium",
    timeout: float = 180.0,
) -> list[dict[str, Any]]:
    """Save the dashboard as a PNG; return the chart-data replies the page received."""
    if shutil.which(binary) is None:
        raise RuntimeError(f"{binary} not found: apt-get install -y chromium")
    profile = Path(tempfile.mkdtemp(prefix="shopfunnel-chromium-"))
    process, url = _start_chromium(profile, binary)
    try:
        tools = DevTools(url)
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        tools.session = tools.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        tools.call("Network.enable")
        tools.call("Page.enable")
        for cookie in client.session_cookies():
            tools.call(
                "Network.setCookie",
                name=cookie["name"],
                value=cookie["value"],
                url=client.base_url + "/",
            )
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.call("Page.navigate", url=dashboard_url)
        deadline = time.monotonic() + timeout
        data_requests: dict[str, str] = {}
        done: set[str] = set()
        while True:
            tools.drain(1.0)
            for event in tools.events:
                params = event.get("params", {})
                if event.get("method") == "Network.requestWillBeSent":
                    if "/api/v1/chart/data" in params["request"]["url"]:
                        data_requests[params["requestId"]] = params["request"].get("postData", "")
                elif event.get("method") == "Network.loadingFinished":
                    if params.get("requestId") in data_requests:
                        done.add(params["requestId"])
            tools.events.clear()
            loading = tools.call("Runtime.evaluate", expression=LOADING, returnByValue=True)
            if len(done) >= charts and loading["result"]["value"] == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"dashboard not rendered within {timeout:.0f}s: {len(done)} of {charts} "
                    f"chart-data replies, {loading['result']['value']} elements loading"
                )
        tools.drain(3.0)  # let the charts finish drawing (animations)
        replies = []
        for request_id in sorted(done):
            body = tools.call("Network.getResponseBody", requestId=request_id)
            text = body["body"]
            if body.get("base64Encoded"):
                text = base64.b64decode(text).decode()
            replies.append(
                {
                    "request": json.loads(data_requests[request_id] or "{}"),
                    "reply": json.loads(text),
                }
            )
        shot = tools.call("Page.captureScreenshot", format="png")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        tools.socket.close()
        return replies
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--dashboard", default="shopfunnel-case-study", help="slug or id")
    parser.add_argument("--charts", type=int, required=True, help="charts on the dashboard")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--chart-data", type=Path, default=None, help="JSON of the replies")
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args(argv)
    client = SupersetClient(args.url)
    client.login(args.user, args.password)
    replies = screenshot(
        client,
        f"{client.base_url}/superset/dashboard/{args.dashboard}/?standalone=1",
        args.charts,
        args.out,
        binary=args.chromium,
    )
    if args.chart_data:
        args.chart_data.write_text(json.dumps(replies, indent=1, default=str))
    print(f"screenshot: {args.out} ({len(replies)} chart-data replies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
