"""`zoo serve` HTTP API, against a real uvicorn server on 127.0.0.1 running the example plugin's tiny model."""
from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")
pytest.importorskip("uvicorn", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")

import zoo  # noqa: E402
from zoo_core.api import default_model  # noqa: E402
from zoo_core.serve.jobs import Limits  # noqa: E402
from zoo_core.serve.server import start_in_thread  # noqa: E402

TINY = "example-tiny-nearest"  # a third-party plugin (tests/example_plugin): weights make it nearest 2×
LIMITS = Limits(max_bytes=40_000, max_pixels=64 * 64, max_output_pixels=64 * 64 * 16, jobs=1, max_queue=4,
                test_models=True)  # TINY is tagged test-only: offered only with --test-models


@pytest.fixture(scope="module", autouse=True)
def _tiny_model_present() -> None:
    if TINY not in [c.name for c in zoo.list_models()]:
        pytest.skip(f"{TINY} is not installed (pip install -e tests/example_plugin)")


@pytest.fixture(scope="module")
def server() -> Any:
    running = start_in_thread(LIMITS)
    yield running
    running.stop()
    assert not running.thread.is_alive()


def png(size: tuple[int, int] = (8, 6), mode: str = "RGB") -> bytes:
    """A small image with distinct pixels, so a wrong resize would show."""
    im = Image.new(mode, size)
    im.putdata([((x * 37) % 256, (y * 53) % 256, (x * y * 11) % 256, 255 if (x + y) % 3 else 40)[: len(mode)]
                for y in range(size[1]) for x in range(size[0])])
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def multipart(fields: dict[str, str], image: bytes | None, filename: str = "pic.png") -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    b = "zoo-test-boundary"
    out = b""
    for k, v in fields.items():
        out += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    if image is not None:
        out += (f'--{b}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + image + b"\r\n"
    return out + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    """(status, body, headers) for GET or POST, errors included."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def post_job(url: str, image: bytes | None, *, filename: str = "pic.png", extra: dict[str, str] | None = None,
             **fields: str) -> tuple[int, dict[str, Any]]:
    body, ctype = multipart({"model": TINY, **fields}, image, filename)
    status, raw, _ = call(url + "api/jobs", body, {"Content-Type": ctype, **(extra or {})})
    return status, json.loads(raw)


def wait_done(url: str, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, raw, _ = call(f"{url}api/jobs/{job_id}")
        assert status == 200, raw
        job = json.loads(raw)
        if job["state"] in ("done", "error"):
            return job
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@pytest.mark.slow
def test_page_and_static_files_are_served(server: Any) -> None:
    status, body, headers = call(server.url)
    assert status == 200 and b'id="drop"' in body and "text/html" in headers["content-type"]
    for name in ("app.js", "style.css"):
        status, body, _ = call(f"{server.url}static/{name}")
        assert status == 200 and len(body) > 500


@pytest.mark.slow
def test_models_come_from_the_registry_including_third_party_plugins(server: Any) -> None:
    status, raw, _ = call(server.url + "api/models")
    data = json.loads(raw)
    names = [m["name"] for m in data["models"]]
    assert TINY in names and set(names) <= {c.name for c in zoo.list_models()}
    tiny = next(m for m in data["models"] if m["name"] == TINY)
    assert tiny["scales"] == [1, 1.5, 2, 3, 4, 6, 8, 16] and tiny["noise_levels"] == [-1]
    assert data["default"] == default_model().name and data["formats"] == ["png", "webp", "jpeg"]
    assert data["limits"]["max_bytes"] == LIMITS.max_bytes and data["limits"]["max_pixels"] == LIMITS.max_pixels


@pytest.mark.parametrize("scale", [2, 4])
def test_upscale_gives_the_models_output_and_the_comparison(server: Any, scale: int) -> None:
    src = Image.open(io.BytesIO(png()))
    status, job = post_job(server.url, png(), scale=str(scale), tta="1")
    assert status == 202 and job["state"] in ("queued", "running", "done")
    job = wait_done(server.url, job["id"])
    assert job["state"] == "done", job
    assert (job["out_width"], job["out_height"]) == (8 * scale, 6 * scale) and job["progress"] == 1.0
    assert job["cards"] == [TINY] * (scale // 2)  # scale 4 = two passes
    _, raw, headers = call(f"{server.url}api/jobs/{job['id']}/result?download=1")
    out = Image.open(io.BytesIO(raw))
    assert out.size == (8 * scale, 6 * scale) and headers["content-type"] == "image/png"
    assert f"pic-{TINY}-{scale}x.png" in headers["content-disposition"]
    nearest = src.resize(out.size, Image.Resampling.NEAREST)
    assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(nearest))  # the tiny model *is* nearest 2×
    for method, flt in (("nearest", Image.Resampling.NEAREST), ("bicubic", Image.Resampling.BICUBIC)):
        _, raw, _ = call(f"{server.url}api/jobs/{job['id']}/baseline?method={method}")
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(raw))), np.asarray(src.resize(out.size, flt)))


def test_transparency_is_kept(server: Any) -> None:
    status, job = post_job(server.url, png((5, 4), "RGBA"))
    job = wait_done(server.url, job["id"])
    _, raw, _ = call(f"{server.url}api/jobs/{job['id']}/result")
    out = Image.open(io.BytesIO(raw))
    assert out.mode == "RGBA" and out.size == (10, 8) and out.getchannel("A").getextrema()[0] < 255


@pytest.mark.parametrize("payload, name, words", [
    (b"this is not an image", "notes.png", "not an image"),
    (png()[:60], "cut.png", "damaged or truncated"),
    (b"", "empty.png", "empty"),
])
def test_bad_files_get_one_line_json_errors(server: Any, payload: bytes, name: str, words: str) -> None:
    status, data = post_job(server.url, payload, filename=name)
    assert status == 400 and words in data["error"] and name in data["error"] and "\n" not in data["error"]


def test_too_many_bytes_is_413(server: Any) -> None:
    big = png((64, 64)) + b"\0" * (LIMITS.max_bytes + 100_000)  # over the cap even with form overhead
    status, data = post_job(server.url, big)
    assert status == 413 and "limit" in data["error"] and "--max-upload-mb" in data["error"]
    # Just over the file limit but under the body slack: caught by the exact per-file check.
    status, data = post_job(server.url, b"\0" * (LIMITS.max_bytes + 10))
    assert status == 413 and "over the limit" in data["error"]


def test_too_many_pixels_is_413(server: Any) -> None:
    status, data = post_job(server.url, png((65, 64)))
    assert status == 413 and "65×64" in data["error"] and "--max-pixels" in data["error"]
    status, data = post_job(server.url, png((64, 64)), scale="8")  # 64×64 fine, 512×512 output is not
    assert status == 413 and "smaller scale" in data["error"]


@pytest.mark.parametrize("fields, words", [
    ({"model": "example-tiny-nearst"}, "example-tiny-nearest"),  # did-you-mean
    ({"scale": "17"}, "Field 'scale' must be a number from 1 to 16"),  # the CLI's MAX_SCALE
    ({"noise": "2"}, "no noise level 2"),
    ({"scale": "two"}, "Field 'scale' must be a number"),
    ({"noise": "9" * 5000}, "Field 'noise' must be an integer from -1 to 3"),  # issue 15 item 14: was a 500
    ({"scale": "1" * 5000}, "Field 'scale' must be a number from 1 to 16"),
    ({"format": "gif"}, "Field 'format' must be one of png, webp, jpeg"),
    ({"model": "/etc/zoo/private-card.yaml"}, "choose a model name from /api/models"),  # no card files from the form
    ({"model": "cards/x.yml"}, "choose a model name from /api/models"),
])
def test_bad_options_are_400(server: Any, fields: dict[str, str], words: str) -> None:
    status, data = post_job(server.url, png(), **fields)
    assert status == 400 and words in data["error"], data


def test_missing_image_unknown_job_and_cross_site_upload(server: Any) -> None:
    status, data = post_job(server.url, None)
    assert status == 400 and "field 'image'" in data["error"]
    status, raw, _ = call(server.url + "api/jobs/0123456789abcdef")
    assert status == 404 and "No such job" in json.loads(raw)["error"]
    status, data = post_job(server.url, png(), extra={"Origin": "http://evil.example"})
    assert status == 403 and "other web sites" in data["error"]
    status, raw, _ = call(server.url, headers={"Host": "evil.example"})  # DNS rebinding
    assert status == 400


@pytest.mark.slow
def test_one_job_at_a_time_queue_order_and_model_cache() -> None:
    gate = threading.Event()
    loads: list[str] = []

    def slow_loader(name: str) -> Any:
        loads.append(name)
        assert gate.wait(20), "test gate never opened"
        return zoo.load(name)

    running = start_in_thread(Limits(jobs=1, max_queue=2), loader=slow_loader)
    try:
        ids = [post_job(running.url, png())[1]["id"]]
        # the worker takes the first job off the queue in its own thread: on a loaded box that can lag the
        # next posts, and a queue of 2 would then refuse the third job
        deadline = time.monotonic() + 20
        while json.loads(call(f"{running.url}api/jobs/{ids[0]}")[1])["state"] != "running":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.02)
        ids += [post_job(running.url, png())[1]["id"] for _ in range(2)]
        states = [json.loads(call(f"{running.url}api/jobs/{i}")[1]) for i in ids]
        assert [(s["state"], s["position"]) for s in states] == [("running", 0), ("queued", 1), ("queued", 2)]
        status, data = post_job(running.url, png())
        assert status == 503 and "busy" in data["error"]
        gate.set()
        assert all(wait_done(running.url, i)["state"] == "done" for i in ids)
        assert loads == [TINY]  # loaded once, then served from the cache
    finally:
        gate.set()
        running.stop()


@pytest.mark.slow
def test_stopping_the_server_cancels_a_running_job_at_its_next_tile() -> None:
    import dataclasses

    def slow_loader(name: str) -> Any:
        up = zoo.load(name)
        inner = up.runner

        def runner(batch: Any) -> Any:
            time.sleep(0.1)  # ~70 tiles → several seconds if it were not cancelled
            return inner(batch)

        return dataclasses.replace(up, runner=runner)

    running = start_in_thread(Limits(jobs=1), loader=slow_loader)
    status, job = post_job(running.url, png((600, 600)), tta="1")
    assert status == 202
    deadline = time.monotonic() + 20
    while json.loads(call(f"{running.url}api/jobs/{job['id']}")[1])["progress"] == 0:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    queue = running.server.config.app.state.api.queue
    started = time.monotonic()
    running.stop()
    assert not running.thread.is_alive() and time.monotonic() - started < 5
    assert "stopping" in queue.get(job["id"]).error


def test_menu_offers_families_with_the_clis_default_and_no_test_models() -> None:
    from zoo_core.serve.engine import list_entries

    entries = {m["name"]: m for m in list_entries()}
    assert TINY not in entries and TINY in {m["name"] for m in list_entries(test_models=True)}
    assert default_model().name in entries  # the page selects /api/models' "default"
    upconv = entries["upconv7-scale2x"]  # its noise siblings are not separate models but its noise menu
    assert upconv["noise_levels"] == [-1, 0, 1, 2, 3] and upconv["variants"][2] == "upconv7-noise2"
    assert not any(n.startswith("upconv7-noise") for n in entries)
    for c in zoo.list_models():  # every offered card is reachable: as a menu entry or a noise variant
        if c.trained and "test-only" not in c.tags:
            assert any(c.name == m["name"] or c.name in m["variants"].values() for m in entries.values()), c.name


def test_plan_and_download_name_follow_the_model_that_ran() -> None:
    from zoo_core.serve.app import download_name
    from zoo_core.serve.engine import JobSpec, pass_cards
    from zoo_core.serve.jobs import WebJob

    spec = JobSpec(model="upconv7-scale2x", noise=2, scale=3.0, tta=False, format="webp")
    assert pass_cards(spec) == ["upconv7-noise2", "upconv7-scale2x"]  # as `zoo upscale -n 2 -s 3` plans it
    job = WebJob(spec=spec, image=Image.new("RGB", (4, 4)), filename="upload.png", cards=pass_cards(spec))
    assert download_name(job) == "upload-upconv7-noise2-3x.webp"
    spec = JobSpec(model="upconv7-scale2x", noise=None, scale=1.5, tta=False, format="jpeg")
    assert pass_cards(spec) == ["upconv7-scale2x"]


@pytest.mark.parametrize("scale, fmt, mime", [(1.5, "jpeg", "image/jpeg"), (3, "webp", "image/webp")])
def test_any_scale_the_cli_accepts_in_the_chosen_format(server: Any, scale: float, fmt: str, mime: str) -> None:
    status, job = post_job(server.url, png(), scale=str(scale), format=fmt)
    assert status == 202, job
    job = wait_done(server.url, job["id"])
    assert job["state"] == "done", job
    size = (round(8 * scale), round(6 * scale))
    assert (job["out_width"], job["out_height"]) == size and job["cards"] == [TINY] * (2 if scale > 2 else 1)
    _, raw, headers = call(f"{server.url}api/jobs/{job['id']}/result?download=1")
    out = Image.open(io.BytesIO(raw))
    assert out.size == size and headers["content-type"] == mime and out.format == fmt.upper()
    assert f"pic-{TINY}-{scale:g}x.{'jpg' if fmt == 'jpeg' else fmt}" in headers["content-disposition"]
