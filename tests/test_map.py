"""The interactive map: layers, popups and legend with the evaluator's numbers, Leaflet embedded (no CDN), and
the page rendered by headless Chromium with one polyline per route.

Needs folium and XStatic-Leaflet (the ``maps`` extra); the rendering test needs the Debian package
``chromium`` and skips without it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, VrpkitError, evaluate

pytest.importorskip("folium")
pytest.importorskip("xstatic.pkg.leaflet")

from vrpkit.maps import PALETTE, leaflet_assets, route_map, save_map


@pytest.fixture
def wait() -> Problem:
    """Depot D at (0, 0); a at (3, 4) (window [10, 20], service 1), b at (3, 0) (window [0, 3]), c at (0, 6)
    (optional, prize 5), d at (6, 0); capacity 6, unit demands but a (2) and b (3).

    Route D-b-a-D: leaves at 0, b at 3, a at 7 (waits until 10), leaves at 11, back at 16: distance 12.
    Route D-d-D: distance 12, duration 12.
    """
    return Problem(
        name="wait",
        depots=(Depot("D", (0, 0)),),
        clients=(
            Client("a", (3, 4), delivery=2, time_windows=((10, 20),), service_time=1),
            Client("b", (3, 0), delivery=3, time_windows=((0, 3),)),
            Client("c", (0, 6), delivery=1, required=False, prize=5),
            Client("d", (6, 0), delivery=1),
        ),
        vehicle_types=(VehicleType("v", capacity=6),),
    )


PLAN = [Route(0, (1, 0)), Route(0, (3,))]


def page(fmap) -> str:
    return fmap.get_root().render()


def script_strings(text: str) -> list[str]:
    """The JSON string arguments of the popups and tooltips bound in the page, decoded."""
    return [json.loads(m) for m in re.findall(r"\.bind(?:Popup|Tooltip)\((\"(?:[^\"\\]|\\.)*\")", text)]


def test_layers_popups_and_legend_carry_the_evaluators_numbers(wait: Problem) -> None:
    text = page(route_map(wait, PLAN))
    assert text.count('"className": "vrpkit-route vrpkit-route-0"') == 1
    assert text.count('"className": "vrpkit-route vrpkit-route-1"') == 1
    assert f'"color": "{PALETTE[0]}"' in text and f'"color": "{PALETTE[1]}"' in text
    assert len(re.findall(r"L\.featureGroup\(", text)) == 4  # two routes, the depots, the clients not visited
    strings = script_strings(text)
    popup_a = next(s for s in strings if s.startswith("<b>a</b>"))
    assert "stop 2 of route 0 (v)" in popup_a
    cells = dict(re.findall(r"<tr><td>([^<]+)</td><td><b>([^<]+)</b></td></tr>", popup_a))
    assert cells == {"arrival": "7", "start": "10", "wait": "3", "service": "1", "departure": "11",
                     "load after": "0 / 6", "delivery": "2", "time window": "10–20"}
    popup_b = next(s for s in strings if s.startswith("<b>b</b>"))
    assert dict(re.findall(r"<tr><td>([^<]+)</td><td><b>([^<]+)</b></td></tr>", popup_b))["load after"] == "2 / 6"
    popup_c = next(s for s in strings if s.startswith("<b>c</b>"))
    assert "left out (optional)" in popup_c and "<td>prize</td><td><b>5</b></td>" in popup_c
    assert "route 0 (v): 12 · 16 · load 5 / 6" in strings  # the tooltip of route 0's line
    legend = re.search(r'<div class="vrpkit-legend">.*?</div>', text, re.S).group(0)
    rows = re.findall(r"<tr><td><span[^>]*></span> (\d+)</td>(.*?)</tr>", legend)
    assert [(k, re.findall(r">([^<>]+)</td>", rest)) for k, rest in rows] == [
        ("0", ["v", "2", "12", "16", "5 / 6"]), ("1", ["v", "1", "12", "12", "1 / 6"])]
    assert "cost 29" in legend  # 24 of routes + prize 5 of c
    assert "1 client not visited" in legend
    numbered = re.findall(r'vrpkit-stop\\" style=\\"background:(#\w+)\\"\\u003e(\d+)\\u003c', text)
    assert numbered == [(PALETTE[0], "1"), (PALETTE[0], "2"), (PALETTE[1], "1")]  # in visiting order


def test_the_page_loads_nothing_but_tiles(wait: Problem) -> None:
    text = page(route_map(wait, PLAN))
    assert not re.search(r"<script[^>]*\bsrc=", text)
    assert not re.search(r"<link[^>]*\bhref=", text)
    assert "Leaflet 1.9.3" in text and "L.CRS.Simple" in text  # planar: no tiles, a plain plane
    assert "BSD 2-Clause License" in text and "Copyright (c) 2010-2022, Vladimir Agafonkin" in text
    assert "tile.openstreetmap.org" not in text
    assert "$(" not in text.replace(leaflet_assets()[0], "")  # no jQuery anywhere (folium's popups need it)
    _, style = leaflet_assets()
    assert "url(images/" not in style and "url(data:image/png;base64," in style
    remote = page(route_map(wait, PLAN, embed=False))
    assert re.search(r'<script src="https://[^"]*leaflet\.js"', remote)


def test_lonlat_map_has_tiles() -> None:
    clients = (Client("a", (4.84, 45.74)), Client("b", (4.85, 45.73)))
    problem = Problem("lyon", (Depot("D", (4.83, 45.73)),), clients, (VehicleType("v"),), coordinates="lonlat")
    text = page(route_map(problem, Solution.from_lists([[0, 1]])))
    assert "tile.openstreetmap.org" in text and "L.CRS.EPSG3857" in text
    assert "L.control.scale({imperial: false})" in text
    legend = re.search(r'<div class="vrpkit-legend">.*?</div>', text, re.S).group(0)
    distance = evaluate(problem, Solution.from_lists([[0, 1]])).distance
    assert f"{distance / 1000:.1f} km" in legend
    assert "tile.openstreetmap.org" not in page(route_map(problem, Solution.from_lists([[0, 1]]), tiles=None))


def test_ids_are_escaped() -> None:
    problem = Problem("x", (Depot("<i>D</i>", (0, 0)),), (Client("<img src=x onerror=alert(1)>", (1, 1)),),
                      (VehicleType("<b>v</b>"),))
    text = page(route_map(problem, Solution.from_lists([[0]])))
    assert "<img src=x" not in text and "<b>v</b>" not in text and "<i>D</i>" not in text
    assert "&lt;b&gt;v&lt;/b&gt;" in text  # in the legend
    assert any(s.startswith("<b>&lt;img src=x") for s in script_strings(text))


def test_missing_folium_names_the_extra(monkeypatch, wait: Problem) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "folium", None)
    with pytest.raises(VrpkitError, match=r'pip install "vrpkit\[maps\]"'):
        route_map(wait, PLAN)


def test_save_map(tmp_path, wait: Problem) -> None:
    path = save_map(route_map(wait, PLAN), tmp_path / "plan.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(VrpkitError, match="is a directory"):
        save_map(route_map(wait, PLAN), tmp_path)


# -- in a browser ---------------------------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1200,800", "--virtual-time-budget=4000")


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    pytest.skip("chromium is not installed (Debian package chromium)")


def run_chromium(args: list[str], profile: Path) -> str:
    """Run headless Chromium with a fresh profile; its whole process group is ended if it hangs."""
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        out, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("chromium did not finish within 90 s")
    return out


def test_chromium_draws_one_polyline_per_route(tmp_path, wait: Problem) -> None:
    from vrpkit.generate import uniform_instance

    problem = uniform_instance(15, seed=2)
    plan = Solution.from_lists([[0, 1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11], [12, 13]])  # 14 left out: missing
    path = save_map(route_map(problem, plan), tmp_path / "plan.html")
    dom = run_chromium(["--dump-dom", path.as_uri()], tmp_path / "profile")
    assert re.search(r'<div class="folium-map leaflet-container', dom), "Leaflet did not run"
    drawn = re.findall(r'<path [^>]*class="[^"]*\bvrpkit-route-(\d+)\b[^"]*"[^>]*>', dom)
    assert sorted(drawn) == ["0", "1", "2", "3"]
    for k in range(4):
        tag = re.search(rf'<path [^>]*class="[^"]*\bvrpkit-route-{k}\b[^"]*"[^>]*>', dom).group(0)
        assert f'stroke="{PALETTE[k]}"' in tag
        assert re.search(r'\bd="M-?\d', tag), "the polyline has no drawn geometry"
    assert len(re.findall(r'class="vrpkit-stop"', dom)) == 14
    assert len(re.findall(r'<path [^>]*class="[^"]*\bvrpkit-unvisited\b', dom)) == 1
    assert len(re.findall(r'class="vrpkit-depot"', dom)) == 1
    legend = html.unescape(re.search(r'<div class="vrpkit-legend">.*?</div>', dom, re.S).group(0))
    assert "infeasible (1 violations)" in legend
    shot = tmp_path / "plan.png"
    run_chromium([f"--screenshot={shot}", path.as_uri()], tmp_path / "profile2")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
