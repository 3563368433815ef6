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


# -- the explanation map ----------------------------------------------------------------------------------------


def wait_report() -> dict:
    """An explanation report (the agreed JSON, written by hand) of ``PLAN`` on ``wait``: route 0 (D-b-a-D) is
    explained, route 1 is not (as with ``--route 0``), and c is left out although its prize 5 pays for its
    cheapest insertion, after a: 3.61 + 6 - 5 = 4.61 (load 6 of 6)."""
    return {
        "routes": [{
            "route": 0, "vehicle_type": "v", "summary": "b first: its window closes at 3",
            "edges": [
                {"from": "D", "to": "b", "intention": "time_window", "slack": {"time": 0, "capacity": 1},
                 "influence": 2.5},
                {"from": "b", "to": "a", "intention": "time_window", "slack": {"time": 10, "capacity": 3},
                 "influence": None},
                {"from": "a", "to": "D", "intention": "return", "slack": None, "influence": 0},
            ],
        }],
        "unassigned": [{"client": "c", "reason": "improvable", "constraint": None, "amount": 0.394449,
                        "insertion": {"route": 0, "vehicle_type": "v", "position": 2, "after": "a",
                                      "cost_delta": 4.605551, "prize": 5, "feasible": True, "violations": []},
                        "message": "client c: prize 5 pays for its cheapest feasible insertion 4.61"}],
    }


def line_options(text: str) -> list[dict]:
    """The options of every polyline of the page, in the order drawn."""
    found = re.findall(r"L\.polyline\(\s*(\[.*?\]),\s*(\{.*?\})\s*\)", text, re.S)
    return [{"points": json.loads(points), **json.loads(options)} for points, options in found]


def test_explain_map_draws_one_polyline_per_group_of_edges(wait: Problem) -> None:
    from vrpkit.maps import INTENTION_COLORS, explain_map

    text = page(explain_map(wait, PLAN, wait_report()))
    lines = line_options(text)
    assert [(line["className"], line["color"], line["points"]) for line in lines] == [
        ("vrpkit-edges vrpkit-edges-0 vrpkit-intention-time_window", INTENTION_COLORS["time_window"],
         [[0, 0], [0, 3], [4, 3]]),  # D -> b -> a, as [lat, lng] = [y, x]
        ("vrpkit-edges vrpkit-edges-0 vrpkit-intention-return", INTENTION_COLORS["return"], [[4, 3], [0, 0]]),
        ("vrpkit-route vrpkit-route-1", PALETTE[1], [[0, 0], [0, 6], [0, 0]]),  # not in the report: plain
    ]
    strings = script_strings(text)
    popup = next(s for s in strings if s.startswith("<b>route 0</b> (v) · edges 1–2 of 3"))
    assert '<div class="vrpkit-summary">b first: its window closes at 3</div>' in popup
    rows = re.findall(r"<tr><td>([^<]*)</td><td><span[^>]*></span> <b>([^<]*)</b></td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td></tr>", popup)
    assert rows == [("D &rarr; b", "time_window", "time 0 · capacity 1", "2.50"),
                    ("b &rarr; a", "time_window", "time 10 · capacity 3", "-")]
    assert "route 0: time_window (2 edges)" in strings and "route 0: return (1 edge)" in strings
    calls = [json.loads(a) for a in re.findall(r"vrpkitArrows\(\w+, (\[.*\])\);", text)]
    assert len(calls) == 1  # one call for route 0's layer; route 1 is not explained
    assert [a[:5] for a in calls[0]] == [  # halfway, pointing the way driven: east; north; to the south-west
        [0, 1.5, 0.0, INTENTION_COLORS["time_window"], "D &rarr; b: time_window · slack time 0 · capacity 1"],
        [2, 3, -90.0, INTENTION_COLORS["time_window"], "b &rarr; a: time_window · slack time 10 · capacity 3"],
        [2, 1.5, 126.9, INTENTION_COLORS["return"], "a &rarr; D: return · slack -"]]
    assert [a[5].split("<div")[0] for a in calls[0]] == ["<b>route 0</b> (v) · edge 1 of 3",
                                                         "<b>route 0</b> (v) · edge 2 of 3",
                                                         "<b>route 0</b> (v) · edge 3 of 3"]
    ring = next(s for s in strings if s.startswith("<b>c</b>"))
    cells = dict(re.findall(r"<tr><td>([^<]+)</td><td><b>([^<]+)</b></td></tr>", ring))
    assert {k: cells[k] for k in ("status", "reason", "constraint", "amount", "cheapest insertion")} == {
        "status": "left out (optional)", "reason": "improvable", "constraint": "-", "amount": "0.39",
        "cheapest insertion": "route 0 after a: cost 4.61"}
    assert ('<div class="vrpkit-summary">client c: prize 5 pays for its cheapest feasible insertion 4.61</div>'
            in ring)
    assert re.search(r'bindTooltip\("c: improvable", \{"className": "vrpkit-reason", "direction": "right", '
                     r'"offset": \[8, 0\], "permanent": true\}', text)
    legend = re.search(r'<div class="vrpkit-legend">.*?</div>', text, re.S).group(0)
    intentions = re.findall(r'background:(#\w+)"></span> ([a-z_]+)</td><td>([^<]*)</td><td align="right">(\d+)<',
                            legend)
    assert intentions == [(INTENTION_COLORS["time_window"], "time_window", "because of time windows", "2"),
                          (INTENTION_COLORS["return"], "return", "back to the depot", "1")]
    assert "unassigned: improvable 1" in legend and "cost 29" in legend

    report = wait_report()
    report["unassigned"][0]["insertion"].update(route=None, feasible=False,
                                                violations=[{"constraint": "capacity", "amount": 1}])
    ring = next(s for s in script_strings(page(explain_map(wait, PLAN, report))) if s.startswith("<b>c</b>"))
    assert "<td>cheapest insertion</td><td><b>a vehicle of its own: cost 4.61 (breaks capacity)</b>" in ring


def test_explain_map_in_real_units_and_other_intentions() -> None:
    from vrpkit.maps import OTHER_INTENTION_COLORS, explain_map

    clients = (Client("a", (4.84, 45.74), time_windows=((0, 7200),)), Client("b", (4.85, 45.73)))
    problem = Problem("lyon", (Depot("D", (4.83, 45.73)),), clients, (VehicleType("v"),), coordinates="lonlat")
    report = {"routes": [{"route": 0, "vehicle_type": "v", "summary": "", "edges": [
        {"from": "D", "to": "a", "intention": ["time_window", "capacity"],
         "constraints": ["limit"], "nearest": "b", "slack": {"time": 5400, "distance": 12345, "duration": None},
         "influence": 1234},
        {"from": "a", "to": "b", "intention": "zigzag", "slack": 1, "influence": 0},
        {"from": "b", "to": "D", "intention": "zigzag", "slack": 1, "influence": 0}]}], "unassigned": []}
    text = page(explain_map(problem, Solution.from_lists([[0, 1]]), report))
    lines = line_options(text)
    assert [(line["className"].split()[-1], line["color"], len(line["points"])) for line in lines] == [
        ("vrpkit-intention-time_window-capacity", OTHER_INTENTION_COLORS[0], 2),  # alphabetical: "t" < "z"
        ("vrpkit-intention-zigzag", OTHER_INTENTION_COLORS[1], 3)]
    popup = next(s for s in script_strings(text) if s.startswith("<b>route 0</b> (v) · edge 1 of 3"))
    assert ("<b>time_window+capacity</b> (also limit)</td><td>time 1:30 · distance 12.3 km</td>"
            "<td>1.2 km · nearest b</td>") in popup  # no unbounded duration; influence is a distance
    assert "vrpkit-summary" not in popup  # an empty summary is left out


def test_explain_map_refuses_a_report_of_another_plan(wait: Problem) -> None:
    from vrpkit.errors import ValidationError
    from vrpkit.maps import explain_map

    def broken(change) -> dict:
        report = wait_report()
        change(report)
        return report

    cases = [
        (lambda r: r["routes"][0]["edges"][1].update({"from": "a"}), r"report\.routes\[0\]\.edges\[1\]\.from: "
                                                                    r"'a', but edge 1 of route 0 goes b -> a"),
        (lambda r: r["routes"][0].update({"route": 2}), r"report\.routes\[0\]\.route: 2 is not a route of the "
                                                        r"plan"),
        (lambda r: r["routes"][0]["edges"].pop(), r"report\.routes\[0\]\.edges: 2 edges for route 0, which has 3 "
                                                  r"\(D -> b -> a -> D\)"),
        (lambda r: r["routes"][0]["edges"][2].update({"intention": ""}), r"edges\[2\]\.intention: '' is not"),
        (lambda r: r["routes"].append(dict(r["routes"][0])), r"report\.routes\[1\]\.route: route 0 is explained "
                                                             r"twice"),
        (lambda r: r["unassigned"][0].update({"client": "x"}), r"report\.unassigned\[0\]\.client: 'x' is not a "
                                                               r"client id"),
    ]
    for change, message in cases:
        with pytest.raises(ValidationError, match=message):
            explain_map(wait, PLAN, broken(change))
    with pytest.raises(ValidationError, match="report: an explanation report is a JSON object"):
        explain_map(wait, PLAN, [])


def test_edge_groups_and_colours() -> None:
    from vrpkit.maps import INTENTION_COLORS, OTHER_INTENTION_COLORS, edge_groups, intention_colors

    assert edge_groups(["nearest", "nearest", "capacity", "nearest", "return"]) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert edge_groups([]) == []
    assert intention_colors(["zz", "nearest", "aa", "zz"]) == {
        "nearest": INTENTION_COLORS["nearest"], "aa": OTHER_INTENTION_COLORS[0], "zz": OTHER_INTENTION_COLORS[1]}


def test_split_legs_follows_the_order_of_the_path() -> None:
    import numpy as np

    from vrpkit.maps import split_legs

    stops = np.array([(0, 0), (1, 0), (2, 1), (1, -1)])
    # the street path passes (1, 0) on its way back exactly, and near it (0.1 off) on the way there: the stop
    # is the second point, where the order of the stops puts it, not the sixth
    path = np.array([(0, 0), (1, 0.1), (2, 0), (2, 1), (1, 1), (1, 0), (1, -1)])
    legs = split_legs(stops, path)
    assert [leg.tolist() for leg in legs] == [[[0, 0], [1, 0.1]], [[1, 0.1], [2, 0], [2, 1]],
                                              [[2, 1], [1, 1], [1, 0], [1, -1]]]
    assert [leg.tolist() for leg in split_legs(stops, stops)] == [[[0, 0], [1, 0]], [[1, 0], [2, 1]],
                                                                  [[2, 1], [1, -1]]]
    twice = np.array([(0, 0), (1, 0), (1, 0), (0, 0)])  # two stops at one place: an empty leg between them
    assert [len(leg) for leg in split_legs(twice, np.array([(0, 0), (1, 0), (0, 0)]))] == [2, 1, 2]


def test_explain_map_cuts_street_paths_at_the_stops(wait: Problem) -> None:
    import numpy as np

    from vrpkit.maps import explain_map

    report = wait_report()
    report["routes"][0]["edges"][1]["intention"] = "nearest"
    detour = [np.array([(0, 0), (1, -1), (3, 0), (3, 2), (3, 4), (1, 2), (0, 0)]),
              np.array([(0, 0), (6, 0), (0, 0)])]
    lines = line_options(page(explain_map(wait, PLAN, report, paths=detour)))
    assert [line["points"] for line in lines[:3]] == [
        [[0, 0], [-1, 1], [0, 3]],  # D -> b along the path
        [[0, 3], [2, 3], [4, 3]],  # b -> a
        [[4, 3], [2, 1], [0, 0]],  # a -> D
    ]


def test_chromium_draws_one_polyline_per_edge_group(tmp_path) -> None:
    from vrpkit.generate import uniform_instance
    from vrpkit.maps import INTENTION_COLORS, explain_map

    problem = uniform_instance(15, seed=2)
    plan = Solution.from_lists([[0, 1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11], [12, 13]])  # 14 left out
    ids = problem.node_ids
    intentions = [["nearest", "nearest", "time_window", "time_window", "capacity", "return"],
                  ["capacity", "nearest", "capacity", "capacity", "return"],
                  ["limit", "limit", "limit", "return"],
                  ["nearest", "prize", "return"]]
    groups = {0: ["nearest", "time_window", "capacity", "return"],  # 13 polylines for 18 edges
              1: ["capacity", "nearest", "capacity", "return"], 2: ["limit", "return"],
              3: ["nearest", "prize", "return"]}
    report = {"routes": [], "unassigned": [{"client": ids[1 + 14], "reason": "capacity", "constraint": "capacity",
                                            "amount": 3, "insertion": None}]}
    for k, route in enumerate(plan.routes):
        nodes = [ids[0], *(ids[1 + c] for c in route.clients), ids[0]]
        report["routes"].append({"route": k, "vehicle_type": "v", "summary": f"route {k}", "edges": [
            {"from": a, "to": b, "intention": i, "slack": {"time": 1}, "influence": 0}
            for a, b, i in zip(nodes[:-1], nodes[1:], intentions[k], strict=True)]})
    path = save_map(explain_map(problem, plan, report), tmp_path / "explain.html")
    dom = run_chromium(["--dump-dom", path.as_uri()], tmp_path / "profile")
    assert re.search(r'<div class="folium-map leaflet-container', dom), "Leaflet did not run"
    tags = re.findall(r'<path [^>]*class="[^"]*\bvrpkit-edges\b[^"]*"[^>]*>', dom)
    drawn: dict[int, list[str]] = {}
    for tag in tags:  # Leaflet adds the paths in the order drawn
        k = int(re.search(r"\bvrpkit-edges-(\d+)\b", tag).group(1))
        intention = re.search(r"\bvrpkit-intention-(\w+)\b", tag).group(1)
        assert f'stroke="{INTENTION_COLORS[intention]}"' in tag
        assert re.search(r'\bd="M-?\d', tag), "the polyline has no drawn geometry"
        drawn.setdefault(k, []).append(intention)
    assert drawn == groups
    assert not re.search(r'class="[^"]*\bvrpkit-route\b', dom)  # every route is explained
    assert len(re.findall(r'class="vrpkit-arrow" style="transform:rotate\(-?[\d.]+deg\)"', dom)) == 18  # per edge
    assert len(re.findall(r'class="vrpkit-stop"', dom)) == 14
    reason = re.findall(r'<div class="[^"]*\bvrpkit-reason\b[^"]*"[^>]*>([^<]*)</div>', dom)
    assert reason == [f"{ids[15]}: capacity"]  # written beside the ring, without a click
    legend = html.unescape(re.search(r'<div class="vrpkit-legend">.*?</div>', dom, re.S).group(0))
    assert "unassigned: capacity 1" in legend


def test_explain_map_draws_the_counterfactual(wait: Problem) -> None:
    from vrpkit.errors import ValidationError
    from vrpkit.maps import WHY_NOT_COLOR, explain_map

    # why not c right after a? D-b-a-c-D: 3 + 4 + sqrt(13) + 6 = 16.61 instead of 12, and c's prize 5 is not lost
    other = [Route(0, (1, 0, 2)), Route(0, (3,))]
    delta = evaluate(wait, other).cost - evaluate(wait, PLAN).cost
    assert delta == pytest.approx(3 + 4 + 13 ** 0.5 + 6 - 12 - 5)  # -0.39
    report = wait_report()
    report["why_not"] = {
        "after": "a", "alternative": "c", "route": 0,
        "plan": {"routes": [{"vehicle_type": "v", "stops": ["b", "a", "c"]},
                            {"vehicle_type": "v", "stops": ["d"]}]},
        "cost_delta": delta, "summary": "Going a -> c changes the cost by -0.39 (28.61 instead of 29).",
        "terms": {"next_leg": {"from": "a", "to": "c", "instead_of": "D", "distance": 3.605551, "cost": 3.605551},
                  "total": {"distance": 4.605551, "prize_lost": -5, "cost": -0.394449}},
        "violations": [{"constraint": "time_window", "client": "a", "amount": 2}]}
    text = page(explain_map(wait, PLAN, report))
    drawn = [(line["className"], line["color"], line.get("dashArray"), line["points"])
             for line in line_options(text) if "why-not" in line["className"]]
    assert drawn == [("vrpkit-why-not", WHY_NOT_COLOR, "8 6", [[0, 0], [0, 3], [4, 3], [6, 0], [0, 0]]),  # route 0
                     ("vrpkit-why-not-leg", WHY_NOT_COLOR, None, [[4, 3], [6, 0]])]  # a -> c; route 1 is the same
    popup = next(s for s in script_strings(text) if s.startswith("<b>why not c after a?</b>"))
    assert ('<div class="vrpkit-summary">Going a -&gt; c changes the cost by -0.39 (28.61 instead of 29).</div>'
            in popup)
    assert re.findall(r"<tr><td>(\w+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", popup) == [
        ("distance", "3.61", "4.61"), ("prize_lost", "-", "-5"), ("cost", "3.61", "-0.39")]
    assert "<b>violations</b>: time_window at a 2" in popup
    legend = re.search(r'<div class="vrpkit-legend">.*?</div>', text, re.S).group(0)
    assert "why not c after a: cost -0.39<br>" in legend
    del report["why_not"]["summary"]  # then the popup says it from the plans' costs
    popup = next(s for s in script_strings(page(explain_map(wait, PLAN, report))) if s.startswith("<b>why not"))
    assert popup.startswith("<b>why not c after a?</b><br>cost -0.39 (28.61 instead of 29)<table")
    report["why_not"]["plan"] = {"routes": 3}
    with pytest.raises(ValidationError, match=r"report\.why_not\.plan\.routes: expected a list of routes"):
        explain_map(wait, PLAN, report)


def test_explain_map_of_vrpkit_explain_report(wait: Problem) -> None:
    """The report as :func:`vrpkit.explain.explain` writes it draws as it is: D-b-a-D is nearest (b is the
    nearest), lookahead (d is nearer than a and fits), return; D-d-D is lookahead (b is nearer), return."""
    from vrpkit.explain import explain
    from vrpkit.maps import INTENTION_COLORS, explain_map

    report = explain(wait, PLAN).to_dict()
    lines = line_options(page(explain_map(wait, PLAN, report)))
    assert [(line["className"].split()[1:], line["color"]) for line in lines] == [
        (["vrpkit-edges-0", "vrpkit-intention-nearest"], INTENTION_COLORS["nearest"]),
        (["vrpkit-edges-0", "vrpkit-intention-lookahead"], INTENTION_COLORS["lookahead"]),
        (["vrpkit-edges-0", "vrpkit-intention-return"], INTENTION_COLORS["return"]),
        (["vrpkit-edges-1", "vrpkit-intention-lookahead"], INTENTION_COLORS["lookahead"]),
        (["vrpkit-edges-1", "vrpkit-intention-return"], INTENTION_COLORS["return"])]


def test_territory_map_draws_a_hull_per_territory_and_a_dot_per_client() -> None:
    """Two groups of three clients (capacity 3): two hulls (triangles), six dots, the depot, the legend."""
    from vrpkit.maps import territory_map
    from vrpkit.territories import build_territories

    clients = tuple(Client(f"c{i}", p, delivery=1)
                    for i, p in enumerate([(0, 0), (1, 0), (0, 1), (100, 0), (101, 0), (100, 1)]))
    problem = Problem("two", (Depot("D", (50, 50)),), clients, (VehicleType("v", capacity=3),))
    page = territory_map(problem, build_territories(problem)).get_root().render()
    assert len(re.findall(r'"className": "vrpkit-territory vrpkit-territory-\d"', page)) == 2
    assert page.count('"className": "vrpkit-territory-client"') == 6
    assert page.count('vrpkit-depot-icon"') == 1
    assert "2 territories (balanced; at least 2) · 2 fit · mean load 100%" in page
