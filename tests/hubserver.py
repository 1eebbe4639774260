"""A small Hugging Face Hub-compatible file server on 127.0.0.1, for testing the real huggingface_hub client.

It answers what `hf_hub_download` asks (huggingface_hub 1.x/2.x):
- HEAD/GET /{org}/{repo}/resolve/{revision}/{filename}
  * unknown repo → 404 + X-Error-Code: RepoNotFound; unknown revision → 404 + RevisionNotFound;
    unknown file → 404 + EntryNotFound + X-Repo-Commit (the client caches the non-existence).
  * a file, `lfs=True` (the default, like the real Hub for large files): 302 to a "CDN" URL on another host
    name (localhost instead of 127.0.0.1, so the client does not follow it during HEAD and does not send the
    token there), with X-Repo-Commit, X-Linked-Etag (the sha256) and X-Linked-Size.
  * a file, `lfs=False` (a small git file or a mirror): 200 with ETag, X-Repo-Commit and Content-Length.
- HEAD/GET /cdn/{sha256}: the bytes.
Every request is logged (method, path, Authorization header) for assertions.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def commit_for(repo: str, revision: str) -> str:
    """A stable 40-hex commit id for a repo's revision (a real commit id resolves to itself)."""
    if re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    return hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()


@dataclass
class Request:
    """One request the server saw."""

    method: str
    path: str
    authorization: str | None


@dataclass
class HubServer:
    """Files by (repo, revision, filename); start() binds 127.0.0.1 on a free port."""

    lfs: bool = True
    files: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    port: int = 0

    def add(self, repo: str, revision: str, filename: str, data: bytes) -> None:
        """Serve `data` as `filename` at `repo@revision`."""
        self.files[(repo, revision, filename)] = data

    @property
    def url(self) -> str:
        """The endpoint to put in HF_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def gets(self) -> list[Request]:
        """The GET requests seen (downloads of bytes)."""
        return [r for r in self.log if r.method == "GET"]

    def _blob(self, sha: str) -> bytes | None:
        return next((d for d in self.files.values() if hashlib.sha256(d).hexdigest() == sha), None)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def _send(self, code: int, headers: dict[str, str], body: bytes = b"") -> None:
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
                self.end_headers()
                if self.command == "GET" and body:
                    self.wfile.write(body)

            def _error(self, code: str, extra: dict[str, str] | None = None) -> None:
                self._send(404, {"X-Error-Code": code, "X-Error-Message": code, **(extra or {})}, b"")

            def _resolve(self) -> None:
                server.log.append(Request(self.command, self.path, self.headers.get("Authorization")))
                if self.path.startswith("/cdn/"):
                    data = server._blob(self.path[5:].split("?")[0])
                    if data is None:
                        return self._error("EntryNotFound")
                    sha = hashlib.sha256(data).hexdigest()
                    return self._send(200, {"ETag": f'"{sha}"'}, data)
                m = RESOLVE.match(self.path.split("?")[0])
                if not m:
                    return self._error("RepoNotFound")
                repo, rev, name = m["repo"], m["rev"], m["file"]
                revisions = {r for (rp, r, _f) in server.files if rp == repo}
                if not revisions:
                    return self._error("RepoNotFound")
                if rev not in revisions and rev not in {commit_for(repo, r) for r in revisions}:
                    return self._error("RevisionNotFound")
                rev = next((r for r in revisions if commit_for(repo, r) == rev), rev)
                commit = commit_for(repo, rev)
                data = server.files.get((repo, rev, name))
                if data is None:
                    return self._error("EntryNotFound", {"X-Repo-Commit": commit})
                sha = hashlib.sha256(data).hexdigest()
                if server.lfs:
                    headers = {"Location": f"http://localhost:{server.port}/cdn/{sha}", "X-Repo-Commit": commit,
                               "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                               "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}
                    return self._send(302, headers)
                self._send(200, {"ETag": f'"{sha}"', "X-Repo-Commit": commit}, data)

            do_GET = _resolve
            do_HEAD = _resolve

        return Handler


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A running HubServer with HF_ENDPOINT, HF_HOME (a fresh cache) and online mode pointed at it."""
    from huggingface_hub import constants

    server = HubServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), server.handler())
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    for var in ("HF_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "ZOO_HUB_REPO", "ZOO_UPSTREAM_DIR"):
        monkeypatch.delenv(var, raising=False)
    # huggingface_hub read these at import: its HTTP session refuses to connect while HF_HUB_OFFLINE was set.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True, raising=False)
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1 in the environment and in huggingface_hub's import-time constants."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
