"""Issue 25 item 10: `zoo serve` bounds the work of all requests together (one pixel budget for jobs and comparison
images) and every error, an unexpected one included, keeps the JSON shape. A real uvicorn server on 127.0.0.1."""
from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("starlette", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")
pytest.importorskip("uvicorn", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")

from zoo_core.serve.budget import Busy, PixelBudget  # noqa: E402
from zoo_core.serve.jobs import Limits  # noqa: E402
from zoo_core.serve.server import start_in_thread  # noqa: E402

TINY = "example-tiny-nearest"


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("content-type", "")


def post_png(url: str, size: tuple[int, int], scale: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buf, "PNG")
    b = "zoo-r3"
    body = "".join(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in {"model": TINY, "scale": str(scale)}.items()).encode()
    body += (f'--{b}\r\nContent-Disposition: form-data; name="image"; filename="p.png"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + buf.getvalue() + f"\r\n--{b}--\r\n".encode()
    status, raw, _ = call(url + "api/jobs", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
    assert status == 202, raw
    job = json.loads(raw)["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(call(f"{url}api/jobs/{job}")[1])
        if state["state"] in ("done", "error"):
            assert state["state"] == "done", state
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


@pytest.mark.slow
def test_concurrent_comparisons_share_one_bounded_budget_and_answer_json(tmp_path):
    """Was: 24 concurrent GET /baseline of a scale-8 job took the server to 7 GB; 21 got a plain-text 500."""
    out = 96 * 8
    running = start_in_thread(Limits(max_pixels=96 * 96, max_output_pixels=out * out, max_work_pixels=out * out,
                                     jobs=1, test_models=True))
    try:
        job = post_png(running.url, (96, 96), 8)
        budget = running.server.config.app.state.api.queue.budget
        with ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(lambda i: call(f"{running.url}api/jobs/{job}/baseline?method=nearest"), range(24)))
        for status, raw, ctype in answers:
            if status == 200:
                assert ctype == "image/png" and Image.open(io.BytesIO(raw)).size == (out, out)
            else:  # a busy server says so in the page's JSON shape
                assert status == 503 and ctype == "application/json" and "busy" in json.loads(raw)["error"], raw
        assert sum(s == 200 for s, _, _ in answers) >= 1
        assert budget.peak <= out * out  # never more than one full-size comparison in memory at once
    finally:
        running.stop()


def test_the_budget_waits_then_refuses_in_one_line():
    budget = PixelBudget(100, max_waiting=1)
    order = []
    with budget.hold(80):
        held = budget.hold(50, timeout=5)  # entered by the thread and kept: 50 stay used afterwards
        t = threading.Thread(target=lambda: held.__enter__() or order.append("ran"))
        t.start()
        time.sleep(0.1)
        assert order == [] and budget.waiting == 1  # it waits for room
        with pytest.raises(Busy, match="busy .1 requests waiting"):
            with budget.hold(50):  # a second waiter is one too many
                pass
    t.join(5)
    assert order == ["ran"] and budget.used == 50 and budget.peak == 80
    with pytest.raises(Busy, match="waited too long"):
        with budget.hold(60, timeout=0.05):
            pass
    with budget.hold(10):  # room left: no wait
        assert budget.used == 60


@pytest.mark.slow
def test_an_unexpected_error_keeps_the_json_shape():
    """Was: a plain-text 'Internal Server Error'. A route of the real app that raises, served by uvicorn."""
    import uvicorn
    from starlette.routing import Route

    from zoo_core.serve.app import create_app
    from zoo_core.serve.server import bind, url_of

    def boom(request: Any) -> Any:
        raise RuntimeError("a bug")

    app = create_app(Limits(jobs=1))
    app.router.routes.insert(0, Route("/api/boom", boom))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        status, raw, ctype = call(url_of(sock) + "api/boom")
        assert status == 500 and ctype == "application/json", raw
        assert json.loads(raw) == {"error": "Internal error (RuntimeError). See the server log."}
    finally:
        server.should_exit = True
        thread.join(10)
