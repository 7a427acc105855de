// Passenger page: stop search in five languages, arrivals in minutes
// (refreshed every 10 s), and a map of the chosen route with its vehicles.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let lang = params.get("lang") || sessionStorage.getItem("lang") || guessLang();
  if (!LANGS.includes(lang)) lang = "ja";
  let stopId = params.get("stop") || null;
  let stop = null, route = null, arrivalsTimer = null, vehiclesTimer = null, projection = null;

  function guessLang() {
    for (const l of navigator.languages || []) {
      const low = l.toLowerCase();
      if (low.startsWith("zh")) return (low.includes("tw") || low.includes("hk") || low.includes("hant")) ? "zh-Hant" : "zh-Hans";
      const base = low.split("-")[0];
      if (LANGS.includes(base)) return base;
    }
    return "ja";
  }

  async function getJson(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { const e = new Error(body?.error?.message || r.statusText); e.status = r.status; throw e; }
    return body;
  }

  function setLang(l) {
    lang = l;
    sessionStorage.setItem("lang", l);
    $("lang").value = l;
    applyStrings(l);
    document.title = t(l, "title");
    const u = new URL(location.href);
    u.searchParams.set("lang", l);
    history.replaceState(null, "", u);
    if ($("q").value.trim()) search();
    if (stopId) selectStop(stopId, false);
  }

  function modeName(mode) { return t(lang, mode) || mode; }

  function badge(routeJson) {
    const b = el("span", { class: "badge", lang: routeJson.short_name.lang }, routeJson.short_name.text);
    const bg = /^[0-9A-Fa-f]{6}$/.test(routeJson.color) ? "#" + routeJson.color : "#333333";
    const fg = /^[0-9A-Fa-f]{6}$/.test(routeJson.text_color) ? "#" + routeJson.text_color : "#ffffff";
    b.style.background = bg; b.style.color = fg;
    return b;
  }

  async function search() {
    const q = $("q").value.trim();
    const list = $("results");
    if (!q) return;
    $("results-section").hidden = false;
    try {
      const body = await getJson(`/api/stops/search?q=${encodeURIComponent(q)}&lang=${encodeURIComponent(lang)}`);
      list.replaceChildren();
      if (!body.stops.length) { list.append(el("li", {}, t(lang, "no_results"))); return; }
      for (const s of body.stops) {
        const button = el("button", { type: "button", class: "link", "data-stop": s.stop_id },
          el("span", { lang: s.name.lang }, s.name.text), " ",
          ...s.routes.slice(0, 4).map(badge));
        button.addEventListener("click", () => selectStop(s.stop_id, true));
        list.append(el("li", {}, button));
      }
    } catch (e) {
      list.replaceChildren(el("li", { class: "error" }, t(lang, "error")));
    }
  }

  async function selectStop(id, focus) {
    stopId = id;
    const u = new URL(location.href);
    u.searchParams.set("stop", id);
    history.replaceState(null, "", u);
    try {
      const body = await getJson(`/api/stops/${encodeURIComponent(id)}?lang=${encodeURIComponent(lang)}`);
      stop = body.stop;
    } catch (e) {
      $("stop-section").hidden = false;
      $("stop-name").textContent = id;
      $("arrivals").replaceChildren(el("p", { class: "error" }, t(lang, "error")));
      return;
    }
    $("stop-section").hidden = false;
    const name = $("stop-name");
    name.textContent = stop.name.text;
    name.lang = stop.name.lang;
    $("stop-meta").replaceChildren(...stop.routes.map(badge).flatMap(b => [b, " "]));
    if (focus) { name.tabIndex = -1; name.focus(); }
    refreshArrivals();
    clearInterval(arrivalsTimer);
    arrivalsTimer = setInterval(refreshArrivals, 10000);
    fillRoutes();
  }

  async function refreshArrivals() {
    if (!stopId) return;
    const box = $("arrivals");
    try {
      const a = await getJson(`/api/stops/${encodeURIComponent(stopId)}/arrivals?lang=${encodeURIComponent(lang)}`);
      if (!a.arrivals.length) { box.replaceChildren(el("p", {}, t(lang, "no_arrivals"))); }
      else {
        const ul = el("ul", { class: "arrivals" });
        for (const x of a.arrivals) {
          const mins = x.minutes <= 0 ? t(lang, "now") : t(lang, "min", { n: x.minutes });
          const where = [x.time, x.stops_away != null ? t(lang, "stops_away", { n: x.stops_away }) : null,
            x.realtime ? t(lang, "live") : t(lang, "scheduled")].filter(Boolean).join(" · ");
          ul.append(el("li", { "data-trip": x.trip_id, "data-minutes": x.minutes },
            el("span", { class: "badge-cell" }, badge({ short_name: x.route_short_name, color: routeColor(x.route_id), text_color: routeTextColor(x.route_id) })),
            el("span", {},
              el("span", { lang: x.headsign.lang }, t(lang, "bound", { h: x.headsign.text })),
              el("br"), el("span", { class: "kind" }, modeName(x.mode) + " · " + where)),
            el("span", { class: "mins" }, mins)));
        }
        box.replaceChildren(ul);
      }
      $("updated").textContent = t(lang, "updated", { t: a.local_time });
    } catch (e) {
      box.replaceChildren(el("p", { class: "error" }, t(lang, "error")));
    }
  }

  function routeOf(id) { return stop?.routes.find(r => r.route_id === id); }
  function routeColor(id) { return routeOf(id)?.color || "333333"; }
  function routeTextColor(id) { return routeOf(id)?.text_color || "FFFFFF"; }

  function fillRoutes() {
    const sel = $("route");
    const keep = route && stop.routes.some(r => r.route_id === route) ? route : stop.routes[0]?.route_id;
    sel.replaceChildren(...stop.routes.map(r => el("option", { value: r.route_id, lang: r.short_name.lang },
      `${r.short_name.text} ${r.long_name.text}`.trim())));
    $("map-section").hidden = !stop.routes.length;
    if (keep) { sel.value = keep; drawRoute(keep); }
  }

  async function drawRoute(id) {
    route = id;
    const svg = $("map");
    try {
      const shape = await getJson(`/api/routes/${encodeURIComponent(id)}/shape?lang=${encodeURIComponent(lang)}&stop=${encodeURIComponent(stopId)}`);
      projection = shape.projection;
      svg.setAttribute("viewBox", `0 0 ${projection.width} ${projection.height}`);
      svg.replaceChildren();
      const colour = /^[0-9A-Fa-f]{6}$/.test(shape.route?.color || "") ? "#" + shape.route.color : "#333";
      const title = svgEl("title"); title.textContent = `${t(lang, "map")}: ${shape.route?.short_name.text || id}`;
      svg.append(title);
      // A 500 m grid to give a sense of distance.
      const step = 500 / projection.metres_per_unit;
      for (let x = projection.width / 2 % step; x < projection.width; x += step)
        svg.append(svgEl("line", { x1: x, y1: 0, x2: x, y2: projection.height, stroke: "#d5dbd5", "stroke-width": 1 }));
      for (let y = projection.height / 2 % step; y < projection.height; y += step)
        svg.append(svgEl("line", { x1: 0, y1: y, x2: projection.width, y2: y, stroke: "#d5dbd5", "stroke-width": 1 }));
      if (shape.points.length > 1)
        svg.append(svgEl("polyline", { points: shape.points.map(p => p.join(",")).join(" "), fill: "none", stroke: colour, "stroke-width": 6, "stroke-linejoin": "round" }));
      for (const s of shape.stops) {
        const chosen = s.stop_id === stopId;
        svg.append(svgEl("circle", { cx: s.x, cy: s.y, r: chosen ? 10 : 6, fill: "#fff", stroke: colour, "stroke-width": 4 }));
        if (chosen || shape.stops.length < 30) {
          const label = svgEl("text", { x: s.x + 14, y: s.y + 6, "font-size": chosen ? 22 : 14, "font-weight": chosen ? 700 : 400, fill: "#111" });
          label.textContent = s.name.text; label.setAttribute("lang", s.name.lang);
          svg.append(label);
        }
      }
      const layer = svgEl("g", { id: "vehicles" });
      svg.append(layer);
      refreshVehicles();
      clearInterval(vehiclesTimer);
      vehiclesTimer = setInterval(refreshVehicles, 10000);
    } catch (e) {
      svg.replaceChildren();
      $("vehicles-note").textContent = t(lang, "error");
    }
  }

  function project(lat, lon) {
    const p = projection;
    const east = (lon - p.center_lon) * 111320 * Math.cos(p.center_lat * Math.PI / 180);
    const north = (lat - p.center_lat) * 110574;
    return [p.width / 2 + east / p.metres_per_unit, p.height / 2 - north / p.metres_per_unit];
  }

  async function refreshVehicles() {
    if (!route || !projection) return;
    const layer = $("vehicles");
    try {
      const body = await getJson(`/api/routes/${encodeURIComponent(route)}/vehicles?lang=${encodeURIComponent(lang)}`);
      layer.replaceChildren();
      for (const v of body.vehicles) {
        const [x, y] = project(v.lat, v.lon);
        const g = svgEl("g", { transform: `translate(${x},${y})` });
        const title = svgEl("title"); title.textContent = `${v.vehicle_id} ${t(lang, "bound", { h: v.headsign.text })}`; g.append(title);
        g.append(svgEl("rect", { x: -9, y: -9, width: 18, height: 18, rx: 4, fill: v.stale ? "#767676" : "#111", stroke: "#fff", "stroke-width": 2, "data-vehicle": v.vehicle_id }));
        layer.append(g);
      }
      $("vehicles-note").textContent = t(lang, "vehicles", { n: body.vehicles.length });
    } catch (e) {
      layer.replaceChildren();
      $("vehicles-note").textContent = e.status === 501 ? t(lang, "vehicles_unavailable") : t(lang, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("lang").addEventListener("change", e => setLang(e.target.value));
    $("search-form").addEventListener("submit", e => { e.preventDefault(); search(); });
    $("route").addEventListener("change", e => drawRoute(e.target.value));
    if (params.get("q")) $("q").value = params.get("q");
    setLang(lang);
  });
})();
