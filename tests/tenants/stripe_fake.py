"""A local fake of Stripe's HTTP API: records every request (path, form
fields, headers) and answers like Stripe would for the calls Dinghuo makes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = dict(parse_qsl(body, keep_blank_values=True))
                outer.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "form": form,
                        "headers": dict(self.headers),
                    }
                )
                if outer.fail_with:
                    self._send(
                        outer.fail_with,
                        {"error": {"type": "invalid_request_error", "message": "nope"}},
                    )
                    return
                key = self.headers.get("Idempotency-Key", "")
                suffix = hashlib.sha1(key.encode()).hexdigest()[:8]
                port = outer.port
                if self.path == "/v1/customers":
                    self._send(
                        200,
                        {"id": f"cus_{suffix}", "object": "customer", "email": form.get("email")},
                    )
                elif self.path == "/v1/checkout/sessions":
                    self._send(
                        200,
                        {
                            "id": f"cs_test_{suffix}",
                            "object": "checkout.session",
                            "mode": "subscription",
                            "url": f"http://127.0.0.1:{port}/checkout/cs_test_{suffix}",
                        },
                    )
                elif self.path == "/v1/billing_portal/sessions":
                    self._send(
                        200,
                        {
                            "id": f"bps_{suffix}",
                            "object": "billing_portal.session",
                            "url": f"http://127.0.0.1:{port}/portal/bps_{suffix}",
                        },
                    )
                else:
                    self._send(
                        404, {"error": {"type": "invalid_request_error", "message": "unknown"}}
                    )

            def do_GET(self):
                # The "Checkout page" a browser is sent to.
                self._send(200, {"page": self.path}, content_type="text/html")

            def _send(self, status, payload, content_type="application/json"):
                data = json.dumps(payload).encode()
                if content_type == "text/html":
                    data = f"<html><body><h1 id=fake-stripe>Fake Stripe {payload['page']}</h1></body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header by Stripe's documented scheme: ``t=<unix
    time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the endpoint secret>``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event(event_id: str, type_: str, obj: dict, created: int | None = None) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "api_version": "2025-03-31.basil",
            "created": int(time.time()) if created is None else created,
            "livemode": False,
            "data": {"object": obj},
            "pending_webhooks": 1,
            "request": {"id": None},
        }
    )
