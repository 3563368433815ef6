"""Interactive maps of plans (folium / Leaflet) and the road geometry of routes.

:func:`route_map` draws a plan on a folium map: one colour and one layer (toggled in the layer control) per
route, drawn along the streets when a road source is known (see :func:`route_paths`), stops numbered in
visiting order with a popup each (id, arrival, start of service, load, time windows), depots as squares,
clients left out in a layer of their own, and a legend with each route's distance, duration and load.
:func:`explain_map` draws the same plan with an explanation report of :mod:`vrpkit.explain`: each route as one
polyline per run of edges with the same intention, coloured by intention, the explanation in popups, the
clients left out marked with their reason, and the counterfactual of ``--why-not`` in a layer of its own.

The page works offline apart from the map tiles: Leaflet's script and style sheet are embedded in the HTML
(from the PyPI package ``XStatic-Leaflet``, Leaflet 1.9.3, BSD-2-Clause), and the map uses no other plugin,
no jQuery and no icon font (folium's defaults load these from CDNs). Planar problems are drawn without tiles
on Leaflet's ``L.CRS.Simple`` (x to the right, y up, one unit of the problem per pixel at zoom 0).

Needs the ``maps`` extra (``pip install "vrpkit[maps]"``); folium is imported on first use.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import html
import inspect
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError, VrpkitError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.report import clock, fmt, km

if TYPE_CHECKING:
    import folium

    from vrpkit.model import Problem

PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
    "#636363", "#ad494a",
)
"""Route colours (route ``k`` gets ``PALETTE[k % len(PALETTE)]``), the same in maps and figures."""

UNVISITED_COLOR = "#7f7f7f"
MISSING_COLOR = "#d62728"
EXTRA_HINT = 'pip install "vrpkit[maps]"'


def route_color(k: int) -> str:
    """The colour of route ``k``."""
    return PALETTE[k % len(PALETTE)]


# -- plans ------------------------------------------------------------------------------------------------


def as_evaluation(problem: Problem, plan: Any) -> Evaluation:
    """The evaluation of ``plan``: a solver :class:`~vrpkit.solvers.Result`, an :class:`Evaluation`, a
    :class:`~vrpkit.Solution`, a list of :class:`~vrpkit.Route` or a solution JSON dict."""
    if isinstance(plan, Evaluation):
        return plan
    if hasattr(plan, "evaluation") and hasattr(plan, "stats"):  # a solver Result
        if plan.evaluation is None:
            reasons = "; ".join(plan.stats.get("reasons") or []) or "the solver returned no plan"
            raise VrpkitError(f"no plan to draw: {reasons}")
        return plan.evaluation
    return evaluate(problem, plan)


def unvisited(problem: Problem, evaluation: Evaluation) -> list[int]:
    """Clients on no route, in index order (optional ones left out and required ones missing)."""
    seen = np.zeros(problem.n_clients, dtype=bool)
    for r in evaluation.routes:
        seen[list(r.clients)] = True
    return np.flatnonzero(~seen).tolist()


def route_nodes(problem: Problem, route: Any) -> list[int]:
    """Node indices of a scheduled route: its start depot, its clients with the depots it reloads at between
    them, its end depot (if not open)."""
    nd = problem.n_depots
    nodes = [route.start_depot, *(nd + c for c in route.clients)]
    for reload in reversed(getattr(route, "reloads", ())):
        nodes.insert(1 + reload.position, reload.depot)
    if route.end_depot is not None:
        nodes.append(route.end_depot)
    return nodes


def node_points(problem: Problem) -> np.ndarray:
    """``(n_nodes, 2)`` locations of the depots and clients; an error names the first node without one."""
    points = problem.locations
    if points is None:
        missing = next(f"{kind}[{i}]" for kind, items in (("depots", problem.depots), ("clients", problem.clients))
                       for i, item in enumerate(items) if item.location is None)
        raise ValidationError(f"{missing}.location", "missing; a plan is drawn from the locations of its stops")
    return np.asarray(points, dtype=float)


# -- road geometry ----------------------------------------------------------------------------------------

ROAD_SOURCES = ("osrm", "osm")


def roads_spec(problem: Problem, roads: Mapping[str, Any] | bool | None = None) -> dict[str, Any] | None:
    """Where route geometry comes from: ``roads`` (``{"provider": "osrm", "pbf": ...}``, ``{"provider":
    "osrm", "url": ...}`` or ``{"provider": "osm", "file": ...}``), else the problem's own ``matrix`` when it
    is a road provider; None (straight lines) for other providers or ``roads=False``."""
    if roads is False:
        return None
    if roads is None or roads is True:
        spec = dict(problem.matrix or {})
        if spec.get("provider") in ROAD_SOURCES:
            return spec
        if roads is True:
            raise ValidationError("roads", f'the problem\'s matrix provider "{spec.get("provider")}" has no '
                                           "street geometry; name a road source (osrm or osm)")
        return None
    spec = dict(roads)
    if spec.get("provider") in ("straight", "none", None) and len(spec) <= 1:
        return None
    if spec.get("provider") not in ROAD_SOURCES:
        raise ValidationError("roads.provider", f'{spec.get("provider")!r} is not one of '
                                                f'{", ".join(ROAD_SOURCES)} (or "straight")')
    if problem.coordinates != "lonlat":
        raise ValidationError("coordinates", 'street geometry needs "coordinates": "lonlat"')
    return spec


def drawn_plan(problem: Problem, plan: Any, paths: Sequence[np.ndarray] | None,
               roads: Mapping[str, Any] | bool | None) -> tuple[Evaluation, np.ndarray, Sequence[np.ndarray]]:
    """What a map or a plot draws: the evaluated plan, the node points and one path per route (``paths``, or
    :func:`route_paths` when None)."""
    evaluation = as_evaluation(problem, plan)
    if paths is None:
        paths = route_paths(problem, evaluation, roads=roads)
    if len(paths) != len(evaluation.routes):
        raise ValidationError("paths", f"{len(paths)} paths for {len(evaluation.routes)} routes")
    return evaluation, node_points(problem), paths


def route_paths(problem: Problem, plan: Any, *, roads: Mapping[str, Any] | bool | None = None) -> list[np.ndarray]:
    """The drawn path of each route of ``plan``: an ``(m, 2)`` array of (x, y) or (lon, lat) points.

    Along the streets when a road source is known (see :func:`roads_spec`): OSRM's fastest route through the
    stops (``/route``, a server ``url`` or a local ``pbf`` with its own ``osrm-routed``), or the fastest path
    on the ``osm`` provider's street graph; straight lines between the stops otherwise.
    """
    evaluation = as_evaluation(problem, plan)
    points = node_points(problem)
    stops = [points[route_nodes(problem, r)] for r in evaluation.routes]
    spec = roads_spec(problem, roads)
    if spec is None or not stops:
        return stops
    options = {k: v for k, v in spec.items() if k != "provider"}
    if spec["provider"] == "osrm":
        return _osrm_paths(stops, options, problem.base_dir)
    return _osm_paths(stops, options, problem.base_dir)


def _osrm_paths(stops: list[np.ndarray], options: dict[str, Any], base_dir: Any) -> list[np.ndarray]:
    from vrpkit.roads.common import resolve_file
    from vrpkit.roads.osrm import route_geometries

    accepted = {k for k, p in inspect.signature(route_geometries).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    kwargs = {k: v for k, v in options.items() if k in accepted}
    if kwargs.get("pbf") is not None:
        kwargs["pbf"] = resolve_file(kwargs["pbf"], base_dir, "pbf")
    profile = kwargs.get("profile")
    if isinstance(profile, str) and profile.endswith(".lua") and not Path(profile).is_absolute() and base_dir:
        kwargs["profile"] = str(Path(base_dir) / profile)
    answers = route_geometries(stops, **kwargs)
    return [_join(s, np.asarray(a["geometry"], dtype=float)) for s, a in zip(stops, answers, strict=True)]


def _join(stops: np.ndarray, path: np.ndarray) -> np.ndarray:
    """``path`` (between the snapped stops) from the first stop's own location to the last one's."""
    if len(path) == 0:
        return stops.copy()
    return np.concatenate([stops[:1], path, stops[-1:]])


def _osm_paths(stops: list[np.ndarray], options: dict[str, Any], base_dir: Any) -> list[np.ndarray]:
    network = _street_network(options, base_dir)
    sparse = _import("scipy.sparse", "scipy")
    csgraph = _import("scipy.sparse.csgraph", "scipy")
    n = network.n_nodes
    indptr = np.searchsorted(network.tail, np.arange(n + 1))
    graph = sparse.csr_matrix((network.travel_time, network.head, indptr), shape=(n, n))
    snapped = [network.snap(s)[0] for s in stops]
    sources = np.unique(np.concatenate([s[:-1] for s in snapped if len(s) > 1] or [np.zeros(0, dtype=np.int64)]))
    row = {int(node): k for k, node in enumerate(sources)}
    pred = np.empty((len(sources), n), dtype=np.int32)
    chunk = max(1, (1 << 24) // max(n, 1))
    for a in range(0, len(sources), chunk):
        _, pred[a:a + chunk] = csgraph.dijkstra(graph, directed=True, indices=sources[a:a + chunk],
                                                return_predecessors=True)
    paths = []
    for points, nodes in zip(stops, snapped, strict=True):
        out = [points[0]]
        for a, b in zip(nodes[:-1].tolist(), nodes[1:].tolist(), strict=True):
            leg = [b]
            p = pred[row[a]]
            while leg[-1] != a and p[leg[-1]] >= 0:
                leg.append(int(p[leg[-1]]))
            out.extend(network.lonlat[leg[::-1]])
        out.append(points[-1])
        path = np.asarray(out, dtype=float)
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = np.any(path[1:] != path[:-1], axis=1)  # a stop on a node, or a leg's end and the next start
        paths.append(path[keep])
    return paths


def _street_network(options: Mapping[str, Any], base_dir: Any) -> Any:
    from vrpkit.roads.common import resolve_file
    from vrpkit.roads.osm import street_network

    file = options.get("file") or options.get("pbf")
    if file is None:
        raise ValidationError("roads.file", "the street graph needs an OpenStreetMap file")
    path = resolve_file(file, base_dir, "file" if "file" in options else "pbf")
    network, _ = street_network(path, speeds=options.get("speeds"),
                                maxspeed_factor=options.get("maxspeed_factor", 0.8),
                                cache_dir=options.get("cache_dir"))
    return network


def street_segments(problem: Problem, roads: Mapping[str, Any] | bool | None = None) -> np.ndarray | None:
    """The streets of the road source's local OpenStreetMap file as ``(k, 2, 2)`` lon/lat segments (each
    two-way street once), for a background; None when the source is a server or there is none."""
    spec = roads_spec(problem, roads)
    if spec is None or not (spec.get("file") or spec.get("pbf")):
        return None
    network = _street_network(spec, problem.base_dir)
    low, high = np.minimum(network.tail, network.head), np.maximum(network.tail, network.head)
    _, first = np.unique(low.astype(np.int64) * network.n_nodes + high, return_index=True)
    return np.stack([network.lonlat[low[first]], network.lonlat[high[first]]], axis=1)


def _import(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise VrpkitError(f"{package} is needed for this: {EXTRA_HINT} ({err})") from None


# -- text for people ----------------------------------------------------------------------------------------


class Units:
    """How a problem's numbers are shown: lon/lat problems in km and h:mm, others as plain numbers."""

    def __init__(self, problem: Problem) -> None:
        self.real = problem.coordinates == "lonlat"

    def distance(self, value: float) -> str:
        return f"{km(value)} km" if self.real else fmt(value)

    def time(self, value: float) -> str:
        return clock(value) if self.real else fmt(value)

    def windows(self, windows: Sequence[Sequence[float]]) -> str:
        parts = []
        for start, end in windows:
            if start <= 0 and not np.isfinite(end):
                return "any time"
            parts.append(f"{self.time(start)}–{self.time(end) if np.isfinite(end) else ''}")
        return ", ".join(parts)

    def load(self, values: Sequence[float], capacity: Sequence[float] | None = None) -> str:
        def amounts(xs: Sequence[float]) -> str:
            return fmt(xs[0]) if len(xs) == 1 else "[" + ", ".join(fmt(x) for x in xs) + "]"

        text = amounts(list(values))
        if capacity is not None and np.isfinite(capacity).all():
            text += " / " + amounts(list(capacity))
        return text


def route_summaries(problem: Problem, evaluation: Evaluation) -> list[dict[str, Any]]:
    """Per route: ``label``, ``vehicle_type``, ``stops``, ``distance``, ``duration``, ``peak_load``,
    ``capacity`` and the same as text (``text``: distance, duration and load), for legends."""
    units = Units(problem)
    out = []
    for k, r in enumerate(evaluation.routes):
        peak = np.max(np.array([r.start_load, *r.load], dtype=float), axis=0)
        cap = problem.capacity[r.vehicle_type]
        vt = problem.vehicle_types[r.vehicle_type].id
        out.append({
            "label": f"route {k}", "vehicle_type": vt, "stops": len(r.clients), "distance": r.distance,
            "duration": r.duration, "peak_load": peak.tolist(), "capacity": cap.tolist(),
            "text": f"{units.distance(r.distance)} · {units.time(r.duration)} · load {units.load(peak, cap)}",
        })
    return out


def _stop_popup(problem: Problem, evaluation: Evaluation, k: int, i: int, units: Units) -> str:
    r = evaluation.routes[k]
    c = r.clients[i]
    client = problem.clients[c]
    cap = problem.capacity[r.vehicle_type]
    rows = [("arrival", units.time(r.arrival[i])), ("start", units.time(r.start[i]))]
    wait = r.start[i] - r.arrival[i]
    if wait > 1e-9:
        rows.append(("wait", units.time(wait)))
    if client.service_time:
        rows.append(("service", units.time(client.service_time)))
    rows.append(("departure", units.time(r.departure[i])))
    rows.append(("load after", units.load(r.load[i], cap)))
    if any(client.delivery):
        rows.append(("delivery", units.load(client.delivery)))
    if any(client.pickup):
        rows.append(("pickup", units.load(client.pickup)))
    plural = "s" if len(client.time_windows) > 1 else ""
    rows.append((f"time window{plural}", units.windows(client.time_windows)))
    late = r.start[i] - client.time_windows[-1][1]
    title = (f"<b>{html.escape(client.id)}</b><br>stop {i + 1} of route {k} "
             f"({html.escape(problem.vehicle_types[r.vehicle_type].id)})")
    if late > 1e-6:
        title += f'<br><b style="color:{MISSING_COLOR}">late by {units.time(late)}</b>'
    return title + _table(rows)


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td>{html.escape(a)}</td><td><b>{html.escape(b)}</b></td></tr>" for a, b in rows)
    return f'<table class="vrpkit-popup">{cells}</table>'


# -- the folium map ---------------------------------------------------------------------------------------


def _folium() -> Any:
    return _import("folium", "folium")


@functools.cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's script and style sheet (its images inlined as data URIs) from ``XStatic-Leaflet``."""
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as err:
        raise VrpkitError(f"XStatic-Leaflet is needed to embed Leaflet in the page: {EXTRA_HINT} "
                          f"({err})") from None
    base = Path(xleaflet.BASE_DIR)
    script = (base / "leaflet.js").read_text(encoding="utf-8")
    style = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = base / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"

    style = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, style)
    script = re.sub(r"</(script)", r"<\\/\1", script, flags=re.IGNORECASE)
    return script, style


LEAFLET_LICENSE = """\
Leaflet 1.9.3 (https://leafletjs.com), embedded below from the PyPI package XStatic-Leaflet.

BSD 2-Clause License

Copyright (c) 2010-2022, Vladimir Agafonkin
Copyright (c) 2010-2011, CloudMade
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""
"""Leaflet's licence, written into every page that embeds it (its terms ask for the notice in copies)."""

MAP_STYLE = """
.vrpkit-stop{border-radius:50%;color:#fff;font:bold 10px/18px sans-serif;text-align:center;width:18px;
 height:18px;border:1px solid #fff;box-shadow:0 0 2px #000}
.vrpkit-depot{background:#111;color:#fff;font:bold 11px/20px sans-serif;text-align:center;width:20px;height:20px;
 border:2px solid #fff;box-shadow:0 0 3px #000}
.vrpkit-legend{position:absolute;right:10px;bottom:24px;z-index:1000;background:rgba(255,255,255,.92);
 padding:6px 9px;font:12px/1.35 sans-serif;border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.4);
 max-height:45vh;max-width:min(480px,90vw);overflow:auto}
.vrpkit-legend summary{cursor:pointer;white-space:normal}
.vrpkit-legend table{border-collapse:collapse}.vrpkit-legend td{padding:1px 5px;white-space:nowrap}
.vrpkit-swatch{display:inline-block;width:22px;height:4px;vertical-align:middle}
table.vrpkit-popup td{padding:0 6px 0 0;white-space:nowrap}
.leaflet-popup-content,.leaflet-tooltip{font-size:13px;line-height:1.4}
table.vrpkit-edge-table{border-collapse:collapse;margin-top:4px}
table.vrpkit-edge-table th{text-align:left;border-bottom:1px solid #ccc;padding:0 6px 0 0}
table.vrpkit-edge-table td{padding:1px 6px 0 0;white-space:nowrap;vertical-align:top}
.vrpkit-summary{margin:3px 0;max-width:480px;white-space:normal}
.vrpkit-reason{font:bold 11px sans-serif;padding:1px 4px}
.vrpkit-arrow{width:18px;height:18px;line-height:0}
"""


@functools.cache
def _elements() -> tuple[type, type, type, type]:
    """Small folium elements: raw header HTML, a popup/tooltip binding without jQuery, the legend, a script
    (``MAP`` in its code is the map's variable). Made once: their templates are compiled with the classes."""
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class Assets(Element):  # type: ignore[misc]
        """Raw HTML for the page's header (not a template: Leaflet's code is kept as it is)."""

        def __init__(self, content: str) -> None:
            super().__init__()
            self._name = "VrpkitAssets"
            self.content = content

        def render(self, **kwargs: Any) -> str:
            return self.content

    class Bind(MacroElement):  # type: ignore[misc]
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this._parent.get_name() }}.{{ this.method }}({{ this.content|tojson }}, "
            "{{ this.options|tojson }});\n{% endmacro %}")

        def __init__(self, method: str, content: str, **options: Any) -> None:
            super().__init__()
            self._name = "VrpkitBind"
            self.method = method
            self.content = content
            self.options = options

    class Legend(MacroElement):  # type: ignore[misc]
        _template = Template("{% macro html(this, kwargs) %}{{ this.content }}{% endmacro %}")

        def __init__(self, content: str) -> None:
            super().__init__()
            self._name = "VrpkitLegend"
            self.content = content

    class Script(MacroElement):  # type: ignore[misc]
        _template = Template("{% macro script(this, kwargs) %}"
                             "{{ this.code.replace('MAP', this._parent.get_name()) }}\n{% endmacro %}")

        def __init__(self, code: str) -> None:
            super().__init__()
            self._name = "VrpkitScript"
            self.code = code

    return Assets, Bind, Legend, Script


ARROWS_SCRIPT = """
function vrpkitArrows(layer, arrows) {
  arrows.forEach(function (a) {
    var icon = L.divIcon({className: "vrpkit-arrow-icon", iconSize: [18, 18], iconAnchor: [9, 9],
      html: '<div class="vrpkit-arrow" style="transform:rotate(' + a[2] + 'deg)"><svg width="18" height="18" '
        + 'viewBox="0 0 18 18"><path d="M2 3L17 9L2 15L6 9Z" fill="' + a[3] + '" stroke="#fff" '
        + 'stroke-width="1.2"/></svg></div>'});
    L.marker([a[0], a[1]], {icon: icon}).bindTooltip(a[4]).bindPopup(a[5], {maxWidth: 520}).addTo(layer);
  });
}
"""
"""The page's function that adds a route's arrowheads ``[lat, lng, degrees, colour, tooltip, popup]`` to its
layer: one call per route instead of four folium elements per edge (a 1,000-client page renders in half the
time)."""


@functools.cache
def _arrows_element() -> type:
    """A folium element that calls ``vrpkitArrows`` on its parent layer with ``arrows``."""
    from branca.element import MacroElement
    from jinja2 import Template

    class Arrows(MacroElement):  # type: ignore[misc]
        _template = Template("{% macro script(this, kwargs) %}"
                             "vrpkitArrows({{ this._parent.get_name() }}, {{ this.arrows|tojson }});\n"
                             "{% endmacro %}")

        def __init__(self, arrows: list[list[Any]]) -> None:
            super().__init__()
            self._name = "VrpkitArrows"
            self.arrows = arrows

    return Arrows


def _latlng(xy: Any) -> list[list[float]]:
    """(x, y) or (lon, lat) points as Leaflet's ``[lat, lng]`` pairs."""
    return np.asarray(xy, dtype=float).reshape(-1, 2)[:, ::-1].tolist()


def _new_map(problem: Problem, points: np.ndarray, paths: Sequence[np.ndarray], tiles: str | None,
             embed: bool) -> tuple[folium.Map, list[list[float]]]:
    """An empty map around ``points`` and ``paths`` with Leaflet and vrpkit's style, and its bounds."""
    folium = _folium()
    Assets, _, _, Script = _elements()
    everything = np.concatenate([points, *[np.asarray(p, dtype=float).reshape(-1, 2) for p in paths]])
    low, high = everything.min(axis=0), everything.max(axis=0)
    center = ((low + high) / 2)[::-1].tolist()
    if problem.coordinates == "lonlat":
        fmap = folium.Map(location=center, tiles=tiles, zoom_start=13)
        fmap.options["zoomSnap"] = 0.25  # the plan fills the window (Leaflet scales the tiles in between)
        fmap.add_child(Script("L.control.scale({imperial: false}).addTo(MAP);"))
    else:
        fmap = folium.Map(location=center, tiles=None, crs="Simple", zoom_start=0)
        fmap.options["minZoom"] = -20
        fmap.options["zoomSnap"] = 0.25
    if embed:
        fmap.default_js = []
        fmap.default_css = []
        script, style = leaflet_assets()
        assets = f"<!--\n{LEAFLET_LICENSE}-->\n<style>{style}</style>\n<script>{script}</script>"
        fmap.get_root().header.add_child(Assets(assets), name="leaflet")
    else:
        fmap.default_js = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")]
        fmap.default_css = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")]
    fmap.get_root().header.add_child(Assets(f"<style>{MAP_STYLE}</style>"), name="vrpkit_style")
    return fmap, [_latlng(low)[0], _latlng(high)[0]]


def _route_layer(fmap: folium.Map, k: int, summary: Mapping[str, Any]) -> Any:
    """The layer of route ``k`` (its line or edges and its stops), named with its colour and size."""
    stops = summary["stops"]
    name = (f'<span style="color:{route_color(k)}">&#9632;</span> route {k} · '
            f'{html.escape(summary["vehicle_type"])} · {stops} stop{"s" * (stops != 1)}')
    return _folium().FeatureGroup(name=name, show=True).add_to(fmap)


def _route_line(path: np.ndarray, k: int, summary: Mapping[str, Any], *, opacity: float = 0.85) -> Any:
    """Route ``k`` as one polyline in its colour, its totals in the tooltip."""
    Bind = _elements()[1]
    line = _folium().PolyLine(_latlng(path), color=route_color(k), weight=4, opacity=opacity,
                              class_name=f"vrpkit-route vrpkit-route-{k}")
    line.add_child(Bind("bindTooltip", f"route {k} ({html.escape(summary['vehicle_type'])}): "
                                       f"{html.escape(summary['text'])}", sticky=True))
    return line


def _stop_markers(group: Any, problem: Problem, evaluation: Evaluation, points: np.ndarray, k: int,
                  units: Units, *, hollow: bool = False) -> None:
    """The stops of route ``k``, numbered in visiting order in the route's colour (``hollow``: white with the
    number and a ring in the route's colour, beside lines of other colours), with popups."""
    folium = _folium()
    Bind = _elements()[1]
    ids, nd, color = problem.node_ids, problem.n_depots, route_color(k)
    style = (f"background:#fff;color:{color};border:2px solid {color};box-sizing:border-box;line-height:14px"
             if hollow
             else f"background:{color}")
    for i, c in enumerate(evaluation.routes[k].clients):
        icon = folium.DivIcon(html=f'<div class="vrpkit-stop" style="{style}">{i + 1}</div>',
                              icon_size=(18, 18), icon_anchor=(9, 9), class_name="vrpkit-stop-icon")
        marker = folium.Marker(_latlng(points[nd + c])[0], icon=icon)
        marker.add_child(Bind("bindPopup", _stop_popup(problem, evaluation, k, i, units), maxWidth=320))
        marker.add_child(Bind("bindTooltip", f"{html.escape(ids[nd + c])} (stop {i + 1} of route {k})"))
        marker.add_to(group)


def _depot_layer(fmap: folium.Map, problem: Problem, evaluation: Evaluation, points: np.ndarray,
                 units: Units) -> None:
    folium = _folium()
    Bind = _elements()[1]
    depots = folium.FeatureGroup(name="depots", show=True).add_to(fmap)
    for d, depot in enumerate(problem.depots):
        starting = [k for k, r in enumerate(evaluation.routes) if r.start_depot == d]
        rows = [("opening", units.windows([depot.time_window])),
                ("routes", ", ".join(map(str, starting)) or "none")]
        icon = folium.DivIcon(html='<div class="vrpkit-depot">D</div>', icon_size=(24, 24), icon_anchor=(12, 12),
                              class_name="vrpkit-depot-icon")
        marker = folium.Marker(_latlng(points[d])[0], icon=icon, z_index_offset=1000)
        marker.add_child(Bind("bindPopup", f"<b>{html.escape(depot.id)}</b> (depot){_table(rows)}"))
        marker.add_child(Bind("bindTooltip", f"depot {html.escape(depot.id)}"))
        marker.add_to(depots)


def _unvisited_layer(fmap: folium.Map, problem: Problem, evaluation: Evaluation, points: np.ndarray,
                     units: Units, reasons: Mapping[int, Mapping[str, Any]] | None = None) -> int:
    """The clients on no route (and those ``reasons`` explains) as dashed rings with popups; with a reason,
    its code is written beside the ring and its evidence is in the popup. Returns how many clients it marks."""
    folium = _folium()
    Bind = _elements()[1]
    reasons = reasons or {}
    off_routes = set(unvisited(problem, evaluation))
    left = sorted(off_routes | set(reasons))
    if not left:
        return 0
    missing = sum(bool(problem.required[c]) for c in left)
    label = f"not visited ({len(left)}" + (f", {missing} required" if missing else "") + ")"
    group = folium.FeatureGroup(name=label, show=True).add_to(fmap)
    nd = problem.n_depots
    visited = set(left) - off_routes
    for c in left:
        client = problem.clients[c]
        required = bool(problem.required[c])
        color = MISSING_COLOR if required else UNVISITED_COLOR
        if c in visited:
            status = "on a route, but reported unassigned"
        else:
            status = "missing (required)" if required else "left out (optional)"
        rows = [("status", status)]
        if client.prize:
            rows.append(("prize", fmt(client.prize)))
        if any(client.delivery):
            rows.append(("delivery", units.load(client.delivery)))
        if any(client.pickup):
            rows.append(("pickup", units.load(client.pickup)))
        rows.append(("time window" + ("s" if len(client.time_windows) > 1 else ""),
                     units.windows(client.time_windows)))
        entry = reasons.get(c)
        if entry is not None:
            constraint = entry.get("constraint")
            rows[1:1] = [("reason", _text(entry.get("reason"), "", units)),
                         ("constraint", _text(constraint, "", units)),
                         ("amount", _text(entry.get("amount"), str(constraint or ""), units)),
                         ("cheapest insertion", _insertion_text(entry.get("insertion"), units))]
        marker = folium.CircleMarker(_latlng(points[nd + c])[0], radius=6 if entry is None else 8, color=color,
                                     weight=2, fill=True, fill_color="#ffffff", fill_opacity=0.9, dash_array="3 2",
                                     class_name="vrpkit-unvisited")
        title = f"<b>{html.escape(client.id)}</b>"
        if entry is not None and entry.get("message"):
            title += f'<div class="vrpkit-summary">{html.escape(str(entry["message"]))}</div>'
        marker.add_child(Bind("bindPopup", f"{title}{_table(rows)}", maxWidth=360))
        if entry is None:
            marker.add_child(Bind("bindTooltip", f"{html.escape(client.id)} (not visited)"))
        else:
            marker.add_child(Bind("bindTooltip", f"{html.escape(client.id)}: "
                                                 f"{html.escape(_text(entry.get('reason'), '', units))}",
                                  permanent=True, direction="right", offset=[8, 0], className="vrpkit-reason"))
        marker.add_to(group)
    return len(left)


def _finish(fmap: folium.Map, collapsed: bool, legend: str | None, bounds: list[list[float]]) -> folium.Map:
    """The layer control (``collapsed``: an icon that opens on hover), the legend and the initial view."""
    _, _, Legend, Script = _elements()
    _folium().LayerControl(collapsed=collapsed).add_to(fmap)
    if legend is not None:
        fmap.add_child(Legend(legend))
    # the plan fits above the legend (in the bottom right corner), measured once the page is laid out
    legend_height = "(document.querySelector('.vrpkit-legend') || {offsetHeight: 0}).offsetHeight"
    fmap.add_child(Script(f"MAP.fitBounds({json.dumps(bounds)}, {{paddingTopLeft: [30, 30], "
                          f"paddingBottomRight: [30, 30 + {legend_height}]}});"))
    return fmap


def route_map(
    problem: Problem,
    plan: Any,
    *,
    roads: Mapping[str, Any] | bool | None = None,
    paths: Sequence[np.ndarray] | None = None,
    tiles: str | None = "OpenStreetMap",
    embed: bool = True,
    legend: bool = True,
) -> folium.Map:
    """A folium map of ``plan`` (a solver result, an evaluation, a solution or its JSON) on ``problem``.

    Routes follow the streets when a road source is known (``roads``, see :func:`route_paths`), or the given
    ``paths`` (as :func:`route_paths` returns them). ``tiles`` names the background (a folium tile name or
    URL; None for none; planar problems never have tiles). ``embed`` puts Leaflet into the page so that it
    needs no network but for the tiles. Save it with :func:`save_map` (or ``.save(path)``); a notebook shows
    it inline.
    """
    evaluation, points, paths = drawn_plan(problem, plan, paths, roads)
    fmap, bounds = _new_map(problem, points, paths, tiles, embed)
    units = Units(problem)
    summaries = route_summaries(problem, evaluation)
    for k, path in enumerate(paths):
        group = _route_layer(fmap, k, summaries[k])
        _route_line(path, k, summaries[k]).add_to(group)
        _stop_markers(group, problem, evaluation, points, k, units)
    _depot_layer(fmap, problem, evaluation, points, units)
    n_left = _unvisited_layer(fmap, problem, evaluation, points, units)
    text = _legend_html(problem, evaluation, summaries, units, n_left) if legend else None
    return _finish(fmap, len(evaluation.routes) > 10, text, bounds)


def _legend_html(problem: Problem, evaluation: Evaluation, summaries: list[dict[str, Any]], units: Units,
                 n_left: int, extra: str = "") -> str:
    """The legend: the plan's name, cost and status, ``extra`` (HTML), then the table of routes (folded
    under ``routes`` when there is an ``extra``)."""
    rows = []
    for k, s in enumerate(summaries):
        rows.append(f'<tr><td><span class="vrpkit-swatch" style="background:{route_color(k)}"></span> {k}</td>'
                    f'<td>{html.escape(s["vehicle_type"])}</td><td align="right">{s["stops"]}</td>'
                    f'<td align="right">{units.distance(s["distance"])}</td>'
                    f'<td align="right">{units.time(s["duration"])}</td>'
                    f'<td align="right">{html.escape(units.load(s["peak_load"], s["capacity"]))}</td></tr>')
    status = ("feasible" if evaluation.feasible
              else f'<b style="color:{MISSING_COLOR}">infeasible ({len(evaluation.violations)} violations)</b>')
    foot = (f"<tr><td colspan=2><b>total</b></td><td align=right>{sum(s['stops'] for s in summaries)}</td>"
            f"<td align=right><b>{units.distance(evaluation.distance)}</b></td>"
            f"<td align=right><b>{units.time(evaluation.duration)}</b></td><td></td></tr>")
    left = f"<br>{n_left} client{'s' * (n_left != 1)} not visited" if n_left else ""
    name = problem.name if len(problem.name) <= 60 else problem.name[:57] + "..."
    table = (f'<table><tr><th>route</th><th>vehicle</th><th>stops</th><th>distance</th><th>duration</th>'
             f'<th>load</th></tr>{"".join(rows)}{foot}</table>')
    if extra:
        table = f"{extra}<details><summary>routes</summary>{table}</details>"
    return (f'<div class="vrpkit-legend"><details open><summary><b>{html.escape(name)}</b> · '
            f"cost {fmt(evaluation.cost)} · {status}{left}</summary>{table}</details></div>")


# -- the explanation map ------------------------------------------------------------------------------------

INTENTION_COLORS: Mapping[str, str] = MappingProxyType({
    "nearest": "#0072b2",
    "time_window": "#d55e00",
    "capacity": "#009e73",
    "limit": "#cc79a7",
    "prize": "#e69f00",
    "backhaul": "#56b4e9",
    "lookahead": "#000000",
    "return": "#8c8c8c",
})
"""The colour of each intention of :mod:`vrpkit.explain` on the explanation map (Okabe and Ito's colour-blind
safe palette; ``lookahead`` black, ``return`` grey). Any other intention, such as a combination of several,
gets a colour of :data:`OTHER_INTENTION_COLORS`, in the alphabetical order of those present."""

OTHER_INTENTION_COLORS = ("#7b4173", "#8c6d31", "#393b79", "#843c39", "#637939", "#bcbd22", "#17becf")

INTENTION_MEANINGS: Mapping[str, str] = MappingProxyType({
    "nearest": "the nearest next stop",
    "time_window": "because of time windows",
    "capacity": "because of the capacity",
    "limit": "because of a duration or distance limit or the shift",
    "prize": "because of prizes",
    "backhaul": "because of the backhaul order",
    "lookahead": "a nearer stop fits: for the plan's total cost",
    "return": "back to the depot",
})
"""A few words per intention for the legend (the rule that assigns them is in :mod:`vrpkit.explain`)."""


def intention_colors(intentions: Sequence[str]) -> dict[str, str]:
    """The colour of each of ``intentions`` on the explanation map (see :data:`INTENTION_COLORS`)."""
    others = sorted({i for i in intentions if i not in INTENTION_COLORS})
    colors = {i: INTENTION_COLORS[i] for i in intentions if i in INTENTION_COLORS}
    colors.update({i: OTHER_INTENTION_COLORS[n % len(OTHER_INTENTION_COLORS)] for n, i in enumerate(others)})
    return colors


def edge_groups(intentions: Sequence[str]) -> list[tuple[int, int]]:
    """``(first, end)`` edge ranges of the runs of consecutive edges with the same intention."""
    cuts = [0, *(e for e in range(1, len(intentions)) if intentions[e] != intentions[e - 1]), len(intentions)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def split_legs(stops: np.ndarray, path: np.ndarray) -> list[np.ndarray]:
    """``path`` (a route's drawn path through its ``(m, 2)`` ``stops``, in order, from the first to the last)
    cut into the ``m - 1`` legs between consecutive stops.

    Each inner stop is matched to a point of the path so that the matches are in path order and their summed
    squared distances to the stops are least (dynamic programming over the path's points, vectorised per
    stop), so a street path that passes a stop twice is cut where its order says. Consecutive legs share their
    cut point.
    """
    stops = np.asarray(stops, dtype=float).reshape(-1, 2)
    path = np.asarray(path, dtype=float).reshape(-1, 2)
    m, n = len(stops), len(path)
    if m < 2:
        return []
    if n == m and np.allclose(path, stops):
        return [path[j:j + 2] for j in range(m - 1)]
    if n < 2:
        raise ValidationError("paths", f"a path of {n} points cannot pass {m} stops")
    cuts = np.zeros(m, dtype=np.int64)
    cuts[-1] = n - 1
    if m > 2:
        index = np.arange(n, dtype=np.int32)
        best = np.full(n, np.inf)
        best[0] = 0.0  # the first stop is the path's first point
        back = np.empty((m - 2, n), dtype=np.int32)  # back[j - 1, i]: where stop j - 1 is when stop j is at i
        for j in range(1, m - 1):
            running = np.minimum.accumulate(best)
            back[j - 1] = np.maximum.accumulate(np.where(best == running, index, 0))
            best = running + np.sum((path - stops[j]) ** 2, axis=1)
        cuts[m - 2] = int(np.argmin(best))  # the last stop is the path's last point
        for j in range(m - 2, 1, -1):
            cuts[j - 1] = back[j - 1, cuts[j]]
    return [path[cuts[j]:cuts[j + 1] + 1] for j in range(m - 1)]


_TIME_WORDS = ("time", "window", "duration", "shift", "wait", "late")


def _text(value: Any, key: str, units: Units) -> str:
    """A value of the explanation report for people: numbers in the problem's units when ``key`` (the field or
    constraint it belongs to) names a distance, a time or a load; mappings as ``key value`` pairs."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):  # unbounded (None) entries and no wait left out
        return " · ".join(f"{name} {_text(v, str(name), units)}" for name, v in value.items()
                          if v is not None and not (name == "wait" and v == 0)) or "-"
    if isinstance(value, Sequence):
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value) and value:
            return units.load([float(v) for v in value]) if len(value) > 1 else _text(value[0], key, units)
        return ", ".join(_text(v, key, units) for v in value)
    if isinstance(value, int | float | np.integer | np.floating):
        word = key.lower()
        if "distance" in word:
            return units.distance(float(value))
        if any(w in word for w in _TIME_WORDS):
            return units.time(float(value))
        return fmt(float(value))
    return str(value)


def _insertion_text(insertion: Any, units: Units) -> str:
    """The cheapest insertion of an unassigned client: ``route R after X: cost C`` (a vehicle of its own when
    ``route`` is None), with its violations when it is not feasible; other shapes as :func:`_text` writes them."""
    if insertion is None:
        return "none"
    if not (isinstance(insertion, Mapping) and "cost_delta" in insertion):
        return _text(insertion, "", units)
    route = insertion.get("route")
    where = "a vehicle of its own" if route is None else f"route {route}"
    if route is not None and insertion.get("after") is not None:
        where += f" after {insertion['after']}"
    text = f"{where}: cost {_text(insertion.get('cost_delta'), '', units)}"
    if insertion.get("feasible") is False:
        broken = [str(v.get("constraint")) if isinstance(v, Mapping) else str(v)
                  for v in insertion.get("violations") or []]
        text += " (breaks " + (", ".join(broken) or "a constraint") + ")"
    return text


def _intention(value: Any, field: str) -> str:
    """An edge's intention as one string (a list of several joined with ``+``)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Sequence) and value and all(isinstance(v, str) and v for v in value):
        return "+".join(value)
    raise ValidationError(field, f"{value!r} is not an intention (a non-empty string)")


def _explained_routes(problem: Problem, evaluation: Evaluation,
                      report: Mapping[str, Any]) -> dict[int, tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    """Route index -> (the report's entry, its edges), checked against the plan: ``route`` is the index of a
    route of the plan (the entry's position when absent) and the edges' ``from`` / ``to`` are that route's
    consecutive node ids, in order, every edge once."""
    if not isinstance(report, Mapping):
        raise ValidationError("report", f"an explanation report is a JSON object, not {type(report).__name__}")
    entries = report.get("routes", [])
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ValidationError("report.routes", "must be a list")
    ids = problem.node_ids
    out: dict[int, tuple[Mapping[str, Any], list[Mapping[str, Any]]]] = {}
    for n, entry in enumerate(entries):
        where = f"report.routes[{n}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(where, "must be an object")
        k = entry.get("route", n)
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(evaluation.routes):
            raise ValidationError(f"{where}.route", f"{k!r} is not a route of the plan "
                                                    f"(0 to {len(evaluation.routes) - 1})")
        if k in out:
            raise ValidationError(f"{where}.route", f"route {k} is explained twice")
        edges = entry.get("edges", [])
        if not isinstance(edges, Sequence) or isinstance(edges, str):
            raise ValidationError(f"{where}.edges", "must be a list")
        nodes = [ids[v] for v in route_nodes(problem, evaluation.routes[k])]
        expected = list(itertools.pairwise(nodes))
        if not evaluation.routes[k].clients and not edges:
            expected = []
        if len(edges) != len(expected):
            raise ValidationError(f"{where}.edges", f"{len(edges)} edges for route {k}, which has "
                                                    f"{len(expected)} ({' -> '.join(nodes)})")
        for e, (edge, (a, b)) in enumerate(zip(edges, expected, strict=True)):
            if not isinstance(edge, Mapping):
                raise ValidationError(f"{where}.edges[{e}]", "must be an object")
            for name, want in (("from", a), ("to", b)):
                if edge.get(name) != want:
                    raise ValidationError(f"{where}.edges[{e}].{name}",
                                          f"{edge.get(name)!r}, but edge {e} of route {k} goes {a} -> {b}")
            _intention(edge.get("intention"), f"{where}.edges[{e}].intention")
        out[k] = (entry, list(edges))
    return out


def _unassigned_reasons(problem: Problem, report: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    """Client index -> the report's ``unassigned`` entry (``client`` is a client id)."""
    entries = report.get("unassigned", [])
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ValidationError("report.unassigned", "must be a list")
    out: dict[int, Mapping[str, Any]] = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValidationError(f"report.unassigned[{n}]", "must be an object")
        client = entry.get("client")
        if not isinstance(client, str) or client not in problem.client_index:
            raise ValidationError(f"report.unassigned[{n}].client", f"{client!r} is not a client id")
        out[problem.client_index[client]] = entry
    return out


def _edges_popup(k: int, entry: Mapping[str, Any], edges: Sequence[Mapping[str, Any]],
                 first: int, end: int, colors: Mapping[str, str], units: Units) -> str:
    """The popup of edges ``first`` to ``end - 1`` of route ``k``: the route's summary and a row per edge."""
    vt = entry.get("vehicle_type")
    title = f"<b>route {k}</b>" + (f" ({html.escape(str(vt))})" if vt is not None else "")
    title += f" · edge{'s' * (end - first > 1)} {first + 1}" + (f"–{end}" if end - first > 1 else "")
    title += f" of {len(edges)}"
    summary = entry.get("summary")
    if summary:
        title += f'<div class="vrpkit-summary">{html.escape(_text(summary, "", units))}</div>'
    rows = []
    for edge in edges[first:end]:
        name = _intention(edge.get("intention"), "intention")
        also = [str(c) for c in edge.get("constraints") or [] if c != name]
        influence = _text(edge.get("influence"), "distance", units)  # a distance in vrpkit.explain
        nearest = edge.get("nearest")
        if nearest is not None and nearest != edge["to"]:
            influence += f" · nearest {nearest}"
        rows.append(f'<tr><td>{html.escape(str(edge["from"]))} &rarr; {html.escape(str(edge["to"]))}</td>'
                    f'<td><span class="vrpkit-swatch" style="background:{colors[name]}"></span> '
                    f"<b>{html.escape(name)}</b>{html.escape(' (also ' + ', '.join(also) + ')') if also else ''}"
                    f'</td><td>{html.escape(_text(edge.get("slack"), "slack", units))}</td>'
                    f"<td>{html.escape(influence)}</td></tr>")
    return (f'{title}<table class="vrpkit-edge-table"><tr><th>edge</th><th>intention</th><th>slack</th>'
            f'<th>influence</th></tr>{"".join(rows)}</table>')


def _edge_arrow(leg: np.ndarray, real: bool, color: str, edge: Mapping[str, Any],
                units: Units) -> list[Any] | None:
    """An arrowhead halfway along ``leg`` (by length on the screen: Web Mercator for lon/lat), pointing the
    way the edge goes, as ``[lat, lng, degrees, colour, tooltip]`` (the tooltip: the edge, its intention and
    slack); None for a leg of no length."""
    points = np.asarray(leg, dtype=float).reshape(-1, 2)
    xy = points
    if real:
        xy = np.column_stack([np.radians(xy[:, 0]), np.log(np.tan(np.pi / 4 + np.radians(xy[:, 1]) / 2))])
    steps = np.hypot(*np.diff(xy, axis=0).T)
    total = float(steps.sum())
    if not total > 0:
        return None
    along = np.cumsum(steps)
    i = int(np.searchsorted(along, total / 2))  # the step that holds the half way (a zero step never does)
    t = 1 - (along[i] - total / 2) / steps[i]
    dx, dy = xy[i + 1] - xy[i]
    angle = round(0.0 - float(np.degrees(np.arctan2(dy, dx))), 1) + 0.0  # the screen's y points down; no -0.0
    name = _intention(edge.get("intention"), "intention")
    tooltip = (f"{html.escape(str(edge['from']))} &rarr; {html.escape(str(edge['to']))}: {html.escape(name)} · "
               f"slack {html.escape(_text(edge.get('slack'), 'slack', units))}")
    return [*_latlng(points[i] * (1 - t) + points[i + 1] * t)[0], angle, color, tooltip]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "other"


def explain_map(
    problem: Problem,
    plan: Any,
    report: Mapping[str, Any],
    *,
    roads: Mapping[str, Any] | bool | None = None,
    paths: Sequence[np.ndarray] | None = None,
    tiles: str | None = "OpenStreetMap",
    embed: bool = True,
    legend: bool = True,
) -> folium.Map:
    """The explanation map of ``plan`` (as :func:`route_map` takes it) with ``report``, the explanation JSON
    of :mod:`vrpkit.explain` for that plan (``routes[]`` with ``route``, ``vehicle_type``, ``summary`` and
    ``edges[]`` of ``from``, ``to``, ``intention``, ``slack``, ``influence``; ``unassigned[]`` with ``client``,
    ``reason``, ``constraint``, ``amount``, ``insertion``).

    Each explained route is drawn as one polyline per group of consecutive edges with the same intention
    (along the streets as in :func:`route_map`, the route's path cut at its stops, see :func:`split_legs`),
    coloured by intention (:data:`INTENTION_COLORS`, listed in the legend), each with a popup of the route's
    summary and, per edge, its intention, slack and influence. Routes the report leaves out (``--route N``)
    keep their plain line in the route's colour. Stops are numbered in the route's colour as in
    :func:`route_map`; clients left out are dashed rings, and those the report explains carry their reason
    beside them and its evidence in the popup. Each edge has an arrowhead halfway, pointing the way driven,
    with the edge in its tooltip. With ``why_not`` (``--why-not K --after I``) the counterfactual is a layer
    of its own in :data:`WHY_NOT_COLOR`: its routes that the plan does not have, dashed, and the leg
    ``I -> K``, solid, with the cost difference per term (next leg and total) and its violations in the
    popups. A report that does not match the plan (a route index out of range, edges other than the
    route's, an unknown client) is a :class:`~vrpkit.errors.ValidationError` naming the field.
    """
    Bind = _elements()[1]
    folium = _folium()
    given_paths = paths
    evaluation, points, paths = drawn_plan(problem, plan, paths, roads)
    explained = _explained_routes(problem, evaluation, report)
    reasons = _unassigned_reasons(problem, report)
    labels = {k: [_intention(e.get("intention"), "intention") for e in edges]
              for k, (_, edges) in explained.items()}
    colors = intention_colors([name for names in labels.values() for name in names])
    fmap, bounds = _new_map(problem, points, paths, tiles, embed)
    fmap.get_root().header.add_child(_elements()[0](f"<script>{ARROWS_SCRIPT}</script>"), name="vrpkit_arrows")
    units = Units(problem)
    real = problem.coordinates == "lonlat"
    summaries = route_summaries(problem, evaluation)
    counts: dict[str, int] = {}
    for k, path in enumerate(paths):
        group = _route_layer(fmap, k, summaries[k])
        if k not in explained or not labels[k]:
            _route_line(path, k, summaries[k], opacity=0.5 if explained else 0.85).add_to(group)
        else:
            entry, edges = explained[k]
            arrows: list[list[Any]] = []
            legs = split_legs(points[route_nodes(problem, evaluation.routes[k])], path)
            for first, end in edge_groups(labels[k]):
                name = labels[k][first]
                counts[name] = counts.get(name, 0) + end - first
                line_points = np.concatenate([legs[first], *[leg[1:] for leg in legs[first + 1:end]]])
                line = folium.PolyLine(_latlng(line_points), color=colors[name], weight=5, opacity=0.9,
                                       class_name=f"vrpkit-edges vrpkit-edges-{k} vrpkit-intention-{_slug(name)}")
                line.add_child(Bind("bindPopup", _edges_popup(k, entry, edges, first, end, colors, units),
                                    maxWidth=520))
                line.add_child(Bind("bindTooltip", f"route {k}: {html.escape(name)} "
                                                   f"({end - first} edge{'s' * (end - first > 1)})", sticky=True))
                line.add_to(group)
                for e in range(first, end):
                    arrow = _edge_arrow(legs[e], real, colors[name], edges[e], units)
                    if arrow is not None:
                        arrows.append([*arrow, _edges_popup(k, entry, edges, e, e + 1, colors, units)])
            if arrows:
                group.add_child(_arrows_element()(arrows))
        _stop_markers(group, problem, evaluation, points, k, units, hollow=k in explained)
    why = report.get("why_not")
    why_line = "" if why is None else _why_not_layer(fmap, problem, evaluation, why, units,
                                                     roads=roads if given_paths is None else False)
    _depot_layer(fmap, problem, evaluation, points, units)
    n_left = _unvisited_layer(fmap, problem, evaluation, points, units, reasons)
    text = None
    if legend:
        text = _legend_html(problem, evaluation, summaries, units, n_left,
                            extra=_intentions_legend(colors, counts, reasons) + why_line)
    return _finish(fmap, legend or len(evaluation.routes) > 10, text, bounds)


WHY_NOT_COLOR = "#e7298a"
"""The colour of the counterfactual's routes (dashed) and of its new leg (solid) on the explanation map."""


def _why_not_layer(fmap: folium.Map, problem: Problem, evaluation: Evaluation, why: Any, units: Units, *,
                   roads: Mapping[str, Any] | bool | None) -> str:
    """The counterfactual of ``report["why_not"]`` in a layer of its own: its routes that the plan does not
    have, dashed, and its new leg ``after -> alternative``, solid, with the cost difference per term in the
    popups. Returns the legend's line for it."""
    folium = _folium()
    Bind = _elements()[1]
    if not isinstance(why, Mapping) or not isinstance(why.get("plan"), Mapping):
        raise ValidationError("report.why_not", "must be an object with the solution JSON of the counterfactual "
                                                "as plan")
    try:
        other = evaluate(problem, why.get("plan"))
    except ValidationError as err:
        raise ValidationError(f"report.why_not.plan.{err.field}".rstrip("."), err.reason) from None
    except VrpkitError as err:
        raise ValidationError("report.why_not.plan", str(err)) from None
    after, alternative = str(why.get("after")), str(why.get("alternative"))
    delta = why.get("cost_delta")
    title = f"<b>why not {html.escape(alternative)} after {html.escape(after)}?</b>"
    if why.get("summary"):
        title += f'<div class="vrpkit-summary">{html.escape(str(why["summary"]))}</div>'
    else:
        title += (f"<br>cost {'+' if isinstance(delta, int | float) and delta > 0 else ''}"
                  f"{html.escape(_text(delta, '', units))} ({fmt(other.cost)} instead of {fmt(evaluation.cost)})")
    terms = why.get("terms") if isinstance(why.get("terms"), Mapping) else {}
    leg, total = terms.get("next_leg") or {}, terms.get("total") or {}
    names = [n for n in total if n not in ("from", "to", "instead_of")]
    rows = "".join(f"<tr><td>{html.escape(str(n))}</td><td>{html.escape(_text(leg.get(n), str(n), units))}</td>"
                   f"<td>{html.escape(_text(total.get(n), str(n), units))}</td></tr>" for n in names)
    table = (f'<table class="vrpkit-edge-table"><tr><th>term</th><th>next leg</th><th>total</th></tr>{rows}'
             "</table>") if rows else ""
    late = [v for v in why.get("violations") or [] if isinstance(v, Mapping)]
    if late:
        table += "<br><b>violations</b>: " + html.escape("; ".join(
            f"{v.get('constraint')}" + (f" at {v['client']}" if v.get("client") is not None else "")
            + f" {_text(v.get('amount'), str(v.get('constraint') or ''), units)}" for v in late))
    popup = title + table
    label = f"why not {html.escape(alternative)} after {html.escape(after)}"
    group = folium.FeatureGroup(name=f'<span style="color:{WHY_NOT_COLOR}">&#9632;</span> {label}',
                                show=True).add_to(fmap)
    mine = {(r.vehicle_type, r.clients) for r in evaluation.routes}
    changed = [k for k, r in enumerate(other.routes) if (r.vehicle_type, r.clients) not in mine]
    # paths only for the routes drawn (street routing is the costly part of a map)
    drawn = dataclasses.replace(other, routes=tuple(other.routes[k] for k in changed))
    other_paths = dict(zip(changed, route_paths(problem, drawn, roads=roads), strict=True))
    ids = problem.node_ids
    for k in changed:
        line = folium.PolyLine(_latlng(other_paths[k]), color=WHY_NOT_COLOR, weight=3, opacity=0.8,
                               dash_array="8 6", class_name="vrpkit-why-not")
        line.add_child(Bind("bindPopup", popup, maxWidth=520))
        line.add_child(Bind("bindTooltip", f"{label} (counterfactual route {k})", sticky=True))
        line.add_to(group)
        nodes = [ids[v] for v in route_nodes(problem, other.routes[k])]
        for e in range(len(nodes) - 1):
            if nodes[e] == after and nodes[e + 1] == alternative:
                xy = split_legs(node_points(problem)[route_nodes(problem, other.routes[k])], other_paths[k])[e]
                new_leg = folium.PolyLine(_latlng(xy), color=WHY_NOT_COLOR, weight=5, opacity=0.9,
                                          class_name="vrpkit-why-not-leg")
                new_leg.add_child(Bind("bindPopup", popup, maxWidth=520))
                new_leg.add_child(Bind("bindTooltip", f"{html.escape(after)} &rarr; {html.escape(alternative)}",
                                       sticky=True))
                new_leg.add_to(group)
    return (f'<span class="vrpkit-swatch" style="background:repeating-linear-gradient(90deg,{WHY_NOT_COLOR} 0 '
            f'6px,transparent 6px 10px)"></span> {label}: cost {html.escape(_text(delta, "", units))}<br>')


def _intentions_legend(colors: Mapping[str, str], counts: Mapping[str, int],
                       reasons: Mapping[int, Mapping[str, Any]]) -> str:
    """The legend's list of intentions (colour, name, meaning, edges) and the count of each unassigned
    reason."""
    rows = "".join(
        f'<tr><td><span class="vrpkit-swatch" style="background:{color}"></span> {html.escape(name)}</td>'
        f'<td>{html.escape(INTENTION_MEANINGS.get(name, ""))}</td>'
        f'<td align="right">{counts.get(name, 0)}</td></tr>'
        for name, color in colors.items())
    out = f"<table><tr><th>intention</th><th></th><th>edges</th></tr>{rows}</table>" if rows else ""
    tally: dict[str, int] = {}
    for entry in reasons.values():
        reason = str(entry.get("reason"))
        tally[reason] = tally.get(reason, 0) + 1
    if tally:
        out += "unassigned: " + ", ".join(f"{html.escape(r)} {n}" for r, n in sorted(tally.items())) + "<br>"
    return out


# -- the territory map --------------------------------------------------------------------------------------


def _hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of ``points`` (its corners in order), or the points themselves when they are fewer
    than three or on one line."""
    unique = np.unique(points, axis=0)
    if len(unique) < 3:
        return unique
    from scipy.spatial import ConvexHull, QhullError

    try:
        return unique[ConvexHull(unique).vertices]
    except QhullError:  # on one line: its two ends
        order = np.lexsort(unique.T[::-1])
        return unique[order[[0, -1]]]


def territory_map(problem: Problem, territories: Any, *, tiles: str | None = "OpenStreetMap",
                  embed: bool = True, legend: bool = True) -> folium.Map:
    """A folium map of :class:`~vrpkit.territories.Territories`: each territory's convex hull in its colour
    (popup: depot, vehicle type, clients, load, estimated duration and distance against the limits,
    compactness), its clients as dots of the same colour (layer ``clients``), the depots as squares, and a
    legend with the totals and the first territories. Layout, tiles and ``embed`` as in :func:`route_map`."""
    folium = _folium()
    Bind = _elements()[1]
    points = node_points(problem)
    fmap, bounds = _new_map(problem, points, [], tiles, embed)
    units = Units(problem)
    nd = problem.n_depots
    areas = folium.FeatureGroup(name=f"territories ({territories.k})", show=True).add_to(fmap)
    dots = folium.FeatureGroup(name=f"clients ({problem.n_clients})", show=True).add_to(fmap)
    for t in territories.territories:
        color = route_color(t.id)
        xy = points[nd + np.asarray(t.clients, dtype=np.int64)]
        rows = [("depot", html.escape(t.depot)), ("vehicle type", html.escape(t.vehicle_type)),
                ("clients", str(len(t.clients))), ("delivery", units.load(t.delivery, t.capacity)),
                ("pickup", units.load(t.pickup, t.capacity)), ("load share", f"{t.load_share:.0%}"),
                ("est. duration", units.time(t.duration) + (f" / {units.time(t.duration_limit)}"
                                                            if np.isfinite(t.duration_limit) else "")),
                ("est. distance", units.distance(t.distance) + (f" / {units.distance(t.distance_limit)}"
                                                                if np.isfinite(t.distance_limit) else "")),
                ("spread", units.distance(t.spread)), ("tour / round trips", f"{t.tour_ratio:.2f}"),
                ("fits", "yes" if t.fits else "no")]
        popup = f"<b>territory {t.id}</b>{_table(rows)}"
        corners = _hull(xy)
        if len(corners) >= 3:
            shape = folium.Polygon(_latlng(corners), color=color, weight=2, fill=True, fill_color=color,
                                   fill_opacity=0.2, class_name=f"vrpkit-territory vrpkit-territory-{t.id}")
        else:
            shape = folium.PolyLine(_latlng(corners), color=color, weight=6, opacity=0.6,
                                    class_name=f"vrpkit-territory vrpkit-territory-{t.id}")
        shape.add_child(Bind("bindPopup", popup, maxWidth=360))
        shape.add_child(Bind("bindTooltip", f"territory {t.id}: {len(t.clients)} clients, "
                                            f"{t.load_share:.0%} of capacity", sticky=True))
        shape.add_to(areas)
        for c, p in zip(t.clients, xy, strict=True):
            dot = folium.CircleMarker(_latlng(p)[0], radius=3, color=color, weight=1, fill=True, fill_color=color,
                                      fill_opacity=0.9, class_name="vrpkit-territory-client")
            dot.add_child(Bind("bindTooltip", f"{html.escape(problem.clients[c].id)} (territory {t.id})"))
            dot.add_to(dots)
    depots = folium.FeatureGroup(name="depots", show=True).add_to(fmap)
    for d, depot in enumerate(problem.depots):
        own = [t.id for t in territories.territories if t.depot == depot.id]
        icon = folium.DivIcon(html='<div class="vrpkit-depot">D</div>', icon_size=(24, 24), icon_anchor=(12, 12),
                              class_name="vrpkit-depot-icon")
        marker = folium.Marker(_latlng(points[d])[0], icon=icon, z_index_offset=1000)
        marker.add_child(Bind("bindPopup", f"<b>{html.escape(depot.id)}</b> (depot)"
                                           f"{_table([('territories', str(len(own)))])}"))
        marker.add_child(Bind("bindTooltip", f"depot {html.escape(depot.id)}"))
        marker.add_to(depots)
    text = _territory_legend(problem, territories, units) if legend else None
    return _finish(fmap, True, text, bounds)


def _territory_legend(problem: Problem, territories: Any, units: Units, shown: int = 15) -> str:
    """The legend: totals, then the first ``shown`` territories."""
    totals = territories.totals()
    rows = []
    for t in territories.territories[:shown]:
        rows.append(f'<tr><td><span class="vrpkit-swatch" style="background:{route_color(t.id)}"></span> '
                    f"{t.id}</td><td>{html.escape(t.vehicle_type)}</td><td align=right>{len(t.clients)}</td>"
                    f"<td align=right>{t.load_share:.0%}</td><td align=right>{units.time(t.duration)}</td></tr>")
    more = territories.k - shown
    if more > 0:
        rows.append(f"<tr><td colspan=5>... and {more} more</td></tr>")
    name = problem.name if len(problem.name) <= 60 else problem.name[:57] + "..."
    summary = (f"<b>{html.escape(name)}</b> · {territories.k} territories ({territories.method}; at least "
               f"{territories.lower_bound}) · {totals['fit']} fit · mean load {totals['mean_load_share']:.0%}")
    table = ("<table><tr><th>territory</th><th>vehicle</th><th>clients</th><th>load</th><th>est. duration</th>"
             f"</tr>{''.join(rows)}</table>")
    return f'<div class="vrpkit-legend"><details open><summary>{summary}</summary>{table}</details></div>'


def save_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write the map as a standalone HTML page."""
    path = Path(path)
    if path.is_dir():
        raise VrpkitError(f"{path}: is a directory; give a file name")
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path


__all__ = [
    "INTENTION_COLORS",
    "INTENTION_MEANINGS",
    "OTHER_INTENTION_COLORS",
    "PALETTE",
    "WHY_NOT_COLOR",
    "Units",
    "as_evaluation",
    "drawn_plan",
    "edge_groups",
    "explain_map",
    "intention_colors",
    "leaflet_assets",
    "node_points",
    "roads_spec",
    "route_color",
    "route_map",
    "route_nodes",
    "route_paths",
    "route_summaries",
    "save_map",
    "split_legs",
    "street_segments",
    "territory_map",
    "unvisited",
]
