// Passenger page: stop search in five languages, arrivals in minutes
// (refreshed every 10 s), and a map of the chosen route with its vehicles
// (refreshed every 5 s).
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

  // Stops as buttons in the results list; with their distance when known.
  function showStops(stops, empty) {
    const list = $("results");
    list.replaceChildren();
    if (!stops.length) { list.append(el("li", {}, empty)); return; }
    for (const s of stops) {
      const button = el("button", { type: "button", class: "link", "data-stop": s.stop_id },
        el("span", { lang: s.name.lang }, s.name.text), " ",
        ...s.routes.slice(0, 4).map(badge),
        s.distance_m != null ? el("span", { class: "meta distance" }, ` ${t(lang, "metres", { n: s.distance_m.toLocaleString() })}`) : null);
      button.addEventListener("click", () => selectStop(s.stop_id, true));
      list.append(el("li", {}, button));
    }
  }

  async function search() {
    const q = $("q").value.trim();
    if (!q) return;
    $("results-h").textContent = t(lang, "results");
    $("results-section").hidden = false;
    try {
      const body = await getJson(`/api/stops/search?q=${encodeURIComponent(q)}&lang=${encodeURIComponent(lang)}`);
      showStops(body.stops, t(lang, "no_results"));
    } catch (e) {
      $("results").replaceChildren(el("li", { class: "error" }, t(lang, "error")));
    }
  }

  // The stops nearest the phone; the position is used for this request only.
  function nearby() {
    $("results-h").textContent = t(lang, "nearby");
    $("results-section").hidden = false;
    if (!navigator.geolocation) { $("results").replaceChildren(el("li", { class: "error" }, t(lang, "no_position"))); return; }
    $("results").replaceChildren(el("li", { class: "meta" }, t(lang, "locating")));
    navigator.geolocation.getCurrentPosition(async pos => {
      try {
        const { latitude, longitude } = pos.coords;
        const body = await getJson(`/api/stops/nearby?lat=${latitude.toFixed(5)}&lon=${longitude.toFixed(5)}&lang=${encodeURIComponent(lang)}`);
        showStops(body.stops, t(lang, "none_nearby"));
      } catch (e) {
        $("results").replaceChildren(el("li", { class: "error" }, t(lang, "error")));
      }
    }, () => $("results").replaceChildren(el("li", { class: "error" }, t(lang, "no_position"))),
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
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
    $("stop-meta").replaceChildren(...stop.routes.map(badge).flatMap(b => [b, " "]),
      stop.step_free == null ? "" : el("span", { class: "step-free", "data-step-free": String(stop.step_free) },
        t(lang, stop.step_free ? "step_free_yes" : "step_free_no")));
    showFavouriteButton();
    if ($("timetable-box").open) loadTimetable();
    if (focus) { name.tabIndex = -1; name.focus(); }
    refreshArrivals();
    clearInterval(arrivalsTimer);
    arrivalsTimer = setInterval(refreshArrivals, 10000);
    fillRoutes();
  }

  // Favourite stops live on this device only (localStorage), never sent.
  const FAVOURITES = "kagoshima.favourites";
  function favourites() {
    try { return JSON.parse(localStorage.getItem(FAVOURITES) || "[]").filter(f => f && f.stop_id); } catch (e) { return []; }
  }
  function showFavourites() {
    const list = favourites();
    $("favourites-section").hidden = list.length === 0;
    $("favourites").replaceChildren(...list.map(f => {
      const b = el("button", { type: "button", class: "link", "data-stop": f.stop_id }, el("span", { lang: f.lang }, f.name));
      b.addEventListener("click", () => selectStop(f.stop_id, true));
      return el("li", {}, b);
    }));
  }
  function showFavouriteButton() {
    const saved = favourites().some(f => f.stop_id === stopId);
    $("favourite").textContent = t(lang, saved ? "favourite_remove" : "favourite_add");
    $("favourite").setAttribute("aria-pressed", String(saved));
  }
  function toggleFavourite() {
    if (!stop) return;
    let list = favourites();
    list = list.some(f => f.stop_id === stop.stop_id)
      ? list.filter(f => f.stop_id !== stop.stop_id)
      : [...list, { stop_id: stop.stop_id, name: stop.name.text, lang: stop.name.lang }];
    localStorage.setItem(FAVOURITES, JSON.stringify(list.slice(-12)));
    showFavouriteButton();
    showFavourites();
  }

  // A stop's timetable for a day (today in Japan by default), by hour.
  async function loadTimetable() {
    if (!stopId) return;
    const date = $("tt-date").value;
    const box = $("timetable");
    try {
      const d = await getJson(`/api/stops/${encodeURIComponent(stopId)}/timetable?lang=${encodeURIComponent(lang)}${date ? "&date=" + date : ""}`);
      if (!$("tt-date").value) $("tt-date").value = d.date;
      $("tt-meta").textContent = `${d.date}${d.holiday ? " · " + t(lang, "holiday") : ""}`;
      if (!d.departures.length) { box.replaceChildren(el("p", {}, t(lang, "no_departures_day"))); return; }
      const hours = new Map();
      for (const x of d.departures) {
        const h = x.departure_time.slice(0, 2);
        if (!hours.has(h)) hours.set(h, []);
        hours.get(h).push(x);
      }
      const table = el("table", { class: "timetable" }, el("tbody", {}, ...[...hours].map(([h, list]) =>
        el("tr", {}, el("th", { scope: "row" }, String(Number(h))),
          el("td", {}, ...list.map(x => el("span", { class: "dep", title: [x.route_short_name.text, t(lang, "bound", { h: x.headsign.text }),
              x.platform ? t(lang, "platform", { p: x.platform }) : null,
              x.every_minutes ? t(lang, "every", { n: x.every_minutes }) : null].filter(Boolean).join(" ") },
            x.departure_time.slice(3, 5),
            el("small", { lang: x.route_short_name.lang }, x.route_short_name.text),
            x.platform ? el("small", { class: "platform" }, x.platform) : null)))))));
      box.replaceChildren(table);
    } catch (e) {
      box.replaceChildren(el("p", { class: "error" }, e.message || t(lang, "error")));
    }
  }

  async function refreshArrivals() {
    if (!stopId) return;
    const box = $("arrivals");
    try {
      const a = await getJson(`/api/stops/${encodeURIComponent(stopId)}/arrivals?lang=${encodeURIComponent(lang)}`);
      const banner = alertBanner(lang, a.alerts);
      const stopped = (a.alerts || []).some(x => x.effect === "no_service");
      if (!a.arrivals.length) {
        box.replaceChildren(...[banner, el("p", {}, t(lang, stopped ? "no_service" : "no_arrivals"))].filter(Boolean));
      } else {
        const ul = el("ul", { class: "arrivals" });
        for (const x of a.arrivals) {
          // Live rows count down in minutes; rows from the timetable alone
          // show their clock time and are never "due" (see arrivalNote).
          // Where the likely window is wide the countdown is a range ("3-5 min").
          const mins = !x.realtime ? x.time
            : x.minutes_range ? t(lang, "min_range", { a: x.minutes_range[0], b: x.minutes_range[1] })
            : x.minutes <= 0 ? t(lang, "now") : t(lang, "min", { n: x.minutes });
          const where = [x.platform ? t(lang, "platform", { p: x.platform }) : null, x.every_minutes ? t(lang, "every", { n: x.every_minutes }) : null,
            x.realtime ? x.time : null, x.stops_away != null ? t(lang, "stops_away", { n: x.stops_away }) : null,
            arrivalNote(lang, x), x.step_free ? t(lang, "step_free_trip") : null].filter(Boolean).join(" · ");
          ul.append(el("li", { "data-trip": x.trip_id, "data-minutes": x.minutes, "data-status": x.status,
            "data-minutes-range": x.minutes_range ? x.minutes_range.join("-") : null,
            class: x.realtime ? "live" : "scheduled" },
            el("span", { class: "badge-cell" }, badge({ short_name: x.route_short_name, color: routeColor(x.route_id), text_color: routeTextColor(x.route_id) })),
            el("span", {},
              el("span", { lang: x.headsign.lang }, t(lang, "bound", { h: x.headsign.text })),
              el("br"), el("span", { class: "kind" }, modeName(x.mode) + " · " + where),
              x.occupancy || x.usual_occupancy ? el("br") : null, crowding(lang, x.occupancy, x.usual_occupancy)),
            el("span", { class: "mins" }, mins)));
        }
        box.replaceChildren(...[banner, ul].filter(Boolean));
      }
      $("updated").textContent = t(lang, "updated", { t: a.local_time });
    } catch (e) {
      box.replaceChildren(el("p", { class: "error" }, t(lang, "error")));
    }
  }

  // Service alerts about this stop, its routes or their operator, in the
  // rider's language (else English, else Japanese), above the arrivals.
  function alertBanner(lang, alerts) {
    if (!alerts || !alerts.length) return null;
    return el("div", { class: "alerts", role: "alert" }, ...alerts.map(x =>
      el("div", { class: `alert alert-${x.effect}`, "data-alert": x.id },
        el("strong", {}, t(lang, "alert_label")), " ",
        el("span", { lang: x.header.lang }, x.header.text),
        x.description ? el("p", { class: "alert-detail", lang: x.description.lang }, x.description.text) : null,
        x.url ? el("a", { href: x.url, rel: "noopener" }, x.url) : null)));
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

  const colourOf = r => /^[0-9A-Fa-f]{6}$/.test(r?.color || "") ? "#" + r.color : "#333333";

  // The route from GetRouteShape, already projected to SVG units (metres
  // around the route's middle, fitted to the view); vehicles on top.
  async function drawRoute(id) {
    route = id;
    const svg = $("map");
    try {
      const shape = await getJson(`/api/routes/${encodeURIComponent(id)}/shape?lang=${encodeURIComponent(lang)}`);
      if (route !== id) return;
      projection = shape.projection;
      const { width: w, height: h } = projection;
      svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
      svg.replaceChildren();
      const colour = colourOf(shape.route);
      const routeName = shape.route ? `${shape.route.short_name.text} ${shape.route.long_name.text}`.trim() : id;
      const main = shape.directions[0] || { points: [], stops: [] };
      const first = main.stops[0], last = main.stops[main.stops.length - 1];
      const title = svgEl("title", { id: "map-title" });
      title.textContent = `${t(lang, "map")}: ${routeName}`;
      const desc = svgEl("desc", { id: "map-desc" });
      desc.textContent = t(lang, "map_desc", { r: routeName, a: first?.name.text || "", b: last?.name.text || "", n: main.stops.length });
      svg.append(title, desc);
      // A 500 m grid to give a sense of distance.
      const grid = svgEl("g", { stroke: "#d5dbd5", "stroke-width": 1, "aria-hidden": "true" });
      const step = 500 / projection.metres_per_unit;
      for (let x = w / 2 % step; x < w; x += step) grid.append(svgEl("line", { x1: x, y1: 0, x2: x, y2: h }));
      for (let y = h / 2 % step; y < h; y += step) grid.append(svgEl("line", { x1: 0, y1: y, x2: w, y2: y }));
      svg.append(grid);
      for (const d of shape.directions) {
        if (d.points.length > 1)
          svg.append(svgEl("polyline", { class: "route-line", "data-direction": d.direction_id, points: d.points.map(p => p.join(",")).join(" "),
            fill: "none", stroke: colour, "stroke-width": 7, "stroke-linejoin": "round", "stroke-linecap": "round" }));
      }
      // Stops: every stop of every direction once; names of the chosen one and the terminals.
      const seen = new Set(), labelled = new Set([stopId, first?.stop_id, last?.stop_id]);
      const stopsLayer = svgEl("g", { id: "map-stops" }), labels = svgEl("g", { id: "map-labels" });
      for (const s of shape.directions.flatMap(d => d.stops)) {
        if (seen.has(s.stop_id)) continue;
        seen.add(s.stop_id);
        const chosen = s.stop_id === stopId;
        stopsLayer.append(svgEl("circle", { cx: s.x, cy: s.y, r: chosen ? 13 : 6, fill: chosen ? colour : "#fff", stroke: chosen ? "#111" : colour,
          "stroke-width": chosen ? 4 : 3, "data-stop": s.stop_id }));
        if (labelled.has(s.stop_id)) {
          const right = s.x < w * 0.55;
          const label = svgEl("text", { x: s.x + (right ? 18 : -18), y: s.y + 8, "text-anchor": right ? "start" : "end", class: chosen ? "map-label chosen" : "map-label",
            lang: s.name.lang });
          label.textContent = s.name.text;
          labels.append(label);
        }
      }
      svg.append(stopsLayer, svgEl("g", { id: "vehicles" }), labels);
      vehicleMarks.clear();
      refreshVehicles();
      clearInterval(vehiclesTimer);
      vehiclesTimer = setInterval(refreshVehicles, 5000);
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

  // Markers by vehicle id, kept between refreshes so the CSS transition moves them.
  const vehicleMarks = new Map();

  function vehicleMark(v) {
    let m = vehicleMarks.get(v.vehicle_id);
    if (!m) {
      const g = svgEl("g", { class: "vehicle", "data-vehicle": v.vehicle_id });
      const title = svgEl("title");
      const body = svgEl("g");
      body.append(svgEl("path", { class: "heading", d: "M0,-24 L9,-12 L-9,-12 Z", fill: "#111", stroke: "#fff", "stroke-width": 2 }));
      body.append(svgEl("rect", { x: -12, y: -12, width: 24, height: 24, rx: 5, stroke: "#fff", "stroke-width": 3 }));
      g.append(title, body);
      m = { g, title, body };
      vehicleMarks.set(v.vehicle_id, m);
      $("vehicles").append(g);
    }
    return m;
  }

  async function refreshVehicles() {
    if (!route || !projection) return;
    const asked = route;
    const list = $("vehicle-list");
    try {
      const body = await getJson(`/api/routes/${encodeURIComponent(asked)}/vehicles?lang=${encodeURIComponent(lang)}`);
      if (asked !== route || !$("vehicles")) return;
      const live = new Set();
      const items = [];
      for (const v of body.vehicles) {
        live.add(v.vehicle_id);
        const fresh = !vehicleMarks.has(v.vehicle_id);
        const m = vehicleMark(v);
        const [x, y] = project(v.lat, v.lon);
        if (fresh) m.g.classList.add("placed");
        m.g.style.transform = `translate(${x.toFixed(1)}px, ${y.toFixed(1)}px)`;
        if (fresh) requestAnimationFrame(() => m.g.classList.remove("placed"));
        m.g.classList.toggle("stale", v.stale);
        const heading = m.body.querySelector(".heading");
        if (v.bearing != null) { heading.removeAttribute("visibility"); m.body.setAttribute("transform", `rotate(${Math.round(v.bearing)})`); }
        else { heading.setAttribute("visibility", "hidden"); m.body.removeAttribute("transform"); }
        const text = t(lang, "vehicle_item", { v: v.vehicle_id, h: t(lang, "bound", { h: v.headsign.text }), s: v.stop_name.text });
        m.title.textContent = text;
        items.push(el("li", { "data-vehicle": v.vehicle_id }, text));
      }
      for (const [id, m] of vehicleMarks) if (!live.has(id)) { m.g.remove(); vehicleMarks.delete(id); }
      list.replaceChildren(...(items.length ? items : [el("li", {}, t(lang, "vehicles_none"))]));
      $("vehicles-note").textContent = t(lang, "vehicles", { n: body.vehicles.length });
    } catch (e) {
      for (const m of vehicleMarks.values()) m.g.remove();
      vehicleMarks.clear();
      list.replaceChildren();
      $("vehicles-note").textContent = e.status === 501 ? t(lang, "vehicles_unavailable") : t(lang, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("lang").addEventListener("change", e => setLang(e.target.value));
    $("search-form").addEventListener("submit", e => { e.preventDefault(); search(); });
    $("nearby").addEventListener("click", nearby);
    $("favourite").addEventListener("click", toggleFavourite);
    $("timetable-box").addEventListener("toggle", () => { if ($("timetable-box").open) loadTimetable(); });
    $("tt-date").addEventListener("change", loadTimetable);
    showFavourites();
    $("route").addEventListener("change", e => drawRoute(e.target.value));
    if (params.get("q")) $("q").value = params.get("q");
    setLang(lang);
  });
})();
