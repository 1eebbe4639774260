"""A small Hugging Face Hub-compatible server on 127.0.0.1, for testing the real huggingface_hub client.

Reads, as `hf_hub_download` asks them (huggingface_hub 1.x/2.x):
- HEAD/GET /{org}/{repo}/resolve/{revision}/{filename}
  * unknown repo → 404 + X-Error-Code: RepoNotFound; unknown revision → 404 + RevisionNotFound;
    unknown file → 404 + EntryNotFound + X-Repo-Commit (the client caches the non-existence).
  * a file, `lfs=True` (the default, like the real Hub for large files): 302 to a "CDN" URL on another host
    name (localhost instead of 127.0.0.1, so the client does not follow it during HEAD and does not send the
    token there), with X-Repo-Commit, X-Linked-Etag (the sha256) and X-Linked-Size.
  * a file, `lfs=False` (a small git file or a mirror): 200 with ETag, X-Repo-Commit and Content-Length.
- HEAD/GET /cdn/{sha256}: the bytes.
Writes, as `HfApi.create_repo / upload_folder / create_tag` send them (token required):
- POST /api/repos/create, /api/validate-yaml, /api/models/{repo}/preupload/{rev} (every file "regular"),
  /api/models/{repo}/commit/{rev} (ndjson, base64 files), /api/models/{repo}/tag/{rev}.
Every request is logged (method, path, Authorization header) for assertions.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import yaml

RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<op>preupload|commit|tag)/(?P<rev>[^/]+)$")


def commit_for(repo: str, revision: str) -> str:
    """A stable 40-hex commit id for a repo's named revision."""
    return hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()


@dataclass
class Request:
    """One request the server saw."""

    method: str
    path: str
    authorization: str | None


@dataclass
class HubServer:
    """Repos with refs (branch/tag → commit) and trees (commit → {filename: bytes})."""

    lfs: bool = True
    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    port: int = 0

    def add(self, repo: str, revision: str, filename: str, data: bytes) -> None:
        """Serve `data` as `filename` at `repo@revision`."""
        oid = self.refs.setdefault((repo, revision), commit_for(repo, revision))
        self.trees.setdefault(oid, {})[filename] = data

    def tree(self, repo: str, revision: str) -> dict[str, bytes]:
        """The files at a ref (or commit id) of a repo."""
        return self.trees.get(self.refs.get((repo, revision), revision), {})

    @property
    def url(self) -> str:
        """The endpoint to put in HF_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def gets(self) -> list[Request]:
        """The GET requests seen (downloads of bytes)."""
        return [r for r in self.log if r.method == "GET"]

    def blob(self, sha: str) -> bytes | None:
        """Bytes by sha256, as a CDN serves LFS objects."""
        return next((d for t in self.trees.values() for d in t.values() if hashlib.sha256(d).hexdigest() == sha), None)

    def resolve(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """Answer a /resolve/ or /cdn/ request: (status, headers, body)."""
        if path.startswith("/cdn/"):
            data = self.blob(path[5:])
            if data is None:
                return 404, {"X-Error-Code": "EntryNotFound"}, b""
            return 200, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'}, data
        m = RESOLVE.match(path)
        repos = {r for (r, _ref) in self.refs}
        if not m or m["repo"] not in repos:
            return 404, {"X-Error-Code": "RepoNotFound"}, b""
        repo, rev, name = m["repo"], m["rev"], m["file"]
        oid = self.refs.get((repo, rev)) or (rev if rev in {o for (r, _), o in self.refs.items() if r == repo} else None)
        if oid is None:
            return 404, {"X-Error-Code": "RevisionNotFound"}, b""
        data = self.trees.get(oid, {}).get(name)
        if data is None:
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": oid}, b""
        sha = hashlib.sha256(data).hexdigest()
        if self.lfs:
            return 302, {"Location": f"http://localhost:{self.port}/cdn/{sha}", "X-Repo-Commit": oid,
                         "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                         "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, b""
        return 200, {"ETag": f'"{sha}"', "X-Repo-Commit": oid}, data

    def write(self, path: str, body: bytes) -> tuple[int, Any]:
        """Answer a write API call: (status, JSON body)."""
        if path == "/api/repos/create":
            req = json.loads(body)
            repo = f"{req['organization']}/{req['name']}"
            if (repo, "main") in self.refs:
                return 409, {"error": "You already created this model repo"}
            self.refs[(repo, "main")] = commit_for(repo, "initial")
            self.trees[self.refs[(repo, "main")]] = {}
            return 200, {"url": f"{self.url}/{repo}"}
        if path == "/api/validate-yaml":
            text = json.loads(body)["content"]
            head = text[4:].split("\n---\n", 1)[0] if text.startswith("---\n") else ""
            try:
                meta = yaml.safe_load(head)
            except yaml.YAMLError as exc:
                return 400, {"error": f"invalid YAML: {exc}"}
            return (200, {"errors": [], "warnings": []}) if isinstance(meta, dict) else (400, {"error": "no metadata"})
        m = API.match(path)
        if not m or (m["repo"], "main") not in self.refs:
            return 404, {"error": "Repository not found"}
        repo, op, rev = m["repo"], m["op"], m["rev"]
        if op == "preupload":
            files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in json.loads(body)["files"]]
            return 200, {"files": files, "commitOid": self.refs[(repo, "main")]}
        if op == "commit":
            tree = dict(self.tree(repo, rev))
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    tree[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            oid = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in tree.items())).encode()
                               + self.refs[(repo, rev)].encode()).hexdigest()
            self.trees[oid], self.refs[(repo, rev)] = tree, oid
            return 200, {"commitUrl": f"{self.url}/{repo}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}
        tag = json.loads(body)["tag"]
        if (repo, tag) in self.refs:
            return 409, {"error": f"Tag {tag} already exists"}
        self.refs[(repo, tag)] = self.refs.get((repo, rev), rev)
        return 200, {}

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
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def _read(self) -> None:
                server.log.append(Request(self.command, self.path, self.headers.get("Authorization")))
                code, headers, body = server.resolve(self.path.split("?")[0])
                self._send(code, {"X-Error-Message": headers["X-Error-Code"], **headers} if code == 404 else headers, body)

            def do_POST(self) -> None:
                server.log.append(Request("POST", self.path, self.headers.get("Authorization")))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    code, data = 401, {"error": "Invalid username or password."}
                else:
                    code, data = server.write(self.path.split("?")[0], body)
                extra = {"X-Error-Message": data["error"]} if code >= 400 else {}
                self._send(code, {"Content-Type": "application/json", **extra}, json.dumps(data).encode())

            do_GET = _read
            do_HEAD = _read

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
    # (zoo passes HF_ENDPOINT explicitly, so constants.ENDPOINT stays as imported.)
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
