// Stop signage: arrivals pushed by the server (Server-Sent Events), shown
// in Japanese and English in turn every 8 seconds.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const SHOWN = ["ja", "en"];
  const ALTERNATE_MS = 8000;
  const stopId = document.getElementById("sign").dataset.stop || "tram_tenmonkan_dori";
  // Six rows on a landscape screen, ten on a portrait one (signage.css).
  const ROWS = window.matchMedia("(orientation: portrait)").matches ? 10 : 6;
  const latest = {};
  // The feed's route colours (route_color / route_text_color), by route id.
  const routeColours = {};
  let shown = 0, source = null, lastEvent = 0;

  async function loadColours() {
    try {
      const r = await fetch(`/api/stops/${encodeURIComponent(stopId)}?lang=ja`, { headers: { Accept: "application/json" } });
      if (!r.ok) return;
      const hex = c => /^[0-9A-Fa-f]{6}$/.test(c || "") ? "#" + c : null;
      for (const route of (await r.json()).stop?.routes || []) {
        const bg = hex(route.color), fg = hex(route.text_color);
        if (bg) routeColours[route.route_id] = { bg, fg: fg || "#ffffff" };
      }
      render();
    } catch (e) { /* the mode's colours stay */ }
  }

  function clock() {
    const now = new Date();
    $("clock").textContent = now.toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" });
  }

  function render() {
    const lang = SHOWN[shown];
    const a = latest[lang] || latest.ja;
    applyStrings(lang);
    document.title = `${t(lang, "signage_title")} / ${a?.stop_name.text || stopId}`;
    if (!a) return;
    const name = $("stop-name");
    name.textContent = a.stop_name.text; name.lang = a.stop_name.lang;
    const rows = $("rows");
    rows.dataset.lang = lang;
    const alerts = a.alerts || [];
    const line = $("alert");
    line.hidden = !alerts.length;
    line.lang = alerts[0]?.header.lang || lang;
    line.textContent = alerts.length ? `⚠ ${t(lang, "alert_label")}: ${alerts.map(x => x.header.text).join(" / ")}` : "";
    const stopped = alerts.find(x => x.effect === "no_service");
    line.classList.toggle("no-service", !!stopped);
    if (!a.arrivals.length) {
      rows.replaceChildren(stopped
        ? el("li", { class: "empty", lang: stopped.header.lang }, stopped.header.text)
        : el("li", { class: "empty" }, t(lang, "no_arrivals")));
      $("status").textContent = t(lang, "updated", { t: a.local_time });
      return;
    }
    rows.replaceChildren(...a.arrivals.slice(0, ROWS).map(x => {
      const route = el("span", { class: "route", lang: x.route_short_name.lang }, x.route_short_name.text);
      const colours = routeColours[x.route_id];
      route.style.background = colours ? colours.bg : x.mode === "tram" ? "#ffffff" : "#ffd400";
      route.style.color = colours ? colours.fg : "#000000";
      // Live rows count down; timetable rows show their clock time, never "now".
      const away = [x.platform ? t(lang, "platform", { p: x.platform }) : null,
        x.every_minutes ? t(lang, "every", { n: x.every_minutes }) : null, x.realtime
        ? [x.stops_away != null ? t(lang, "stops_away", { n: x.stops_away }) : x.time, t(lang, "live")].join(" · ")
        : arrivalNote(lang, x), x.step_free ? "♿" : null].filter(Boolean).join(" · ");
      const mins = !x.realtime
        ? el("span", { class: "mins" }, x.time)
        : x.minutes_range
          ? el("span", { class: "mins range" }, x.minutes_range.join(lang === "ja" ? "〜" : "-"),
            el("small", {}, lang === "ja" ? "分" : "min"))
        : x.minutes <= 0
          ? el("span", { class: "mins" }, t(lang, "now"))
          : el("span", { class: "mins" }, String(x.minutes), el("small", {}, lang === "ja" ? "分" : "min"));
      return el("li", { "data-trip": x.trip_id, "data-minutes": x.minutes, "data-status": x.status,
        "data-minutes-range": x.minutes_range ? x.minutes_range.join("-") : null,
        class: x.realtime ? "live" : "scheduled" },
        route,
        el("span", { class: "dest" }, el("span", { lang: x.headsign.lang }, t(lang, "bound", { h: x.headsign.text })),
          el("small", {}, `${t(lang, x.mode)} · ${away}`, x.occupancy || x.usual_occupancy ? " · " : null, crowding(lang, x.occupancy, x.usual_occupancy))),
        mins);
    }));
    $("status").textContent = t(lang, "updated", { t: a.local_time }) + (a.source === "timetable" ? ` · ${t(lang, "scheduled")}` : "");
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/api/stops/${encodeURIComponent(stopId)}/arrivals/stream?lang=${SHOWN.join(",")}`);
    source.addEventListener("arrivals", e => {
      const a = JSON.parse(e.data);
      latest[a.lang] = a;
      lastEvent = Date.now();
      if (a.lang === SHOWN[shown]) render();
    });
    source.addEventListener("error", e => {
      if (e.data) $("status").textContent = t(SHOWN[shown], "error");
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    clock(); setInterval(clock, 1000);
    loadColours();
    connect();
    setInterval(() => { shown = (shown + 1) % SHOWN.length; render(); }, ALTERNATE_MS);
    // EventSource reconnects by itself; start over if nothing came for a minute.
    setInterval(() => { if (Date.now() - lastEvent > 60000) connect(); }, 30000);
  });
})();
