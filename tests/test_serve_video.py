"""`zoo serve` takes a short video: the CLI's video job, progress in frames, every other stream kept; bad clips 400."""
from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("starlette", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")
pytest.importorskip("uvicorn", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")

from test_serve_api import TINY, call, post_job, wait_done  # noqa: E402
from video_media import VFR, frames, make_clip, packets  # noqa: E402
from zoo_core.serve import video_job  # noqa: E402
from zoo_core.serve.jobs import Limits  # noqa: E402
from zoo_core.serve.server import start_in_thread  # noqa: E402

pytestmark = pytest.mark.slow
LIMITS = Limits(max_bytes=200_000, max_pixels=64 * 64, max_output_pixels=64 * 64 * 16, jobs=1, max_queue=4,
                test_models=True)


@pytest.fixture(scope="module")
def server() -> Any:
    running = start_in_thread(LIMITS)
    yield running
    running.stop()


def test_a_short_video_comes_back_upscaled_with_its_streams(server, tmp_path):
    src = make_clip(tmp_path / "clip.mkv", audio=(("aac", 44100, 1),), subtitle=True)
    status, job = post_job(server.url, src.read_bytes(), filename="clip.mkv")
    assert status == 202 and job["video"], job
    job = wait_done(server.url, job["id"], timeout=120)
    assert job["state"] == "done", job
    assert (job["width"], job["height"], job["out_width"], job["out_height"]) == (32, 24, 64, 48)
    status, body, headers = call(f"{server.url}api/jobs/{job['id']}/result?download=1")
    assert status == 200 and headers["content-type"] == "video/x-matroska"
    assert f'filename="clip-{TINY}-2x.mkv"' in headers["content-disposition"]
    out = tmp_path / "out.mkv"
    out.write_bytes(body)
    assert [f[0] for f in frames(out)] == VFR and frames(out)[0][2].shape == (48, 64, 3)
    assert packets(out)[1] == packets(src)[1] and packets(out)[2] == packets(src)[2]


def test_long_or_broken_videos_are_one_line_400(server, tmp_path, monkeypatch):
    monkeypatch.setattr(video_job, "MAX_SECONDS", 0.2)
    src = make_clip(tmp_path / "long.mkv")
    status, job = post_job(server.url, src.read_bytes(), filename="long.mkv")
    assert status == 400 and "longer than the 0 s this page takes" in job["error"] and "zoo upscale" in job["error"]
    status, job = post_job(server.url, b"not a video at all\n" * 50, filename="x.mp4")
    assert status == 400 and job["error"].startswith("x.mp4: ") and "\n" not in job["error"]
    assert "zoo-serve-video-" not in json.dumps(job)  # the server's temp paths stay private
