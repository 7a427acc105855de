// Bureau dashboard: indicators of the month and the fiscal year with their
// progress against the plan, ridership charts and the data feeds' health.
// The bearer token lives in sessionStorage (this tab only).
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const KEY = "kagoshima.bureau.token";
  let feedsTimer = null, trendUrl = null;

  async function api(path) {
    const token = sessionStorage.getItem(KEY);
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(path, { headers });
    if (r.status === 401) {
      const body = await r.json().catch(() => ({}));
      signOut();
      throw Object.assign(new Error(body?.error?.message || "unauthorised"), { status: 401 });
    }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw Object.assign(new Error(body?.error?.message || r.statusText), { status: r.status });
    }
    return r;
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    $("content").hidden = true;
    $("sign-out").hidden = true;
    $("token-form").hidden = false;
    clearInterval(feedsTimer);
  }

  function statusClass(s) { return s === "◎" ? "status-ok" : s === "○" ? "status-mid" : s === "△" ? "status-low" : ""; }
  function num(s) { if (s === "" || s == null) return "—"; const n = Number(s); return Number.isFinite(n) ? n.toLocaleString("ja-JP", { maximumFractionDigits: 2 }) : s; }

  function table(report, caption) {
    const tbl = el("table", {},
      el("caption", { class: "meta" }, caption),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "No."), el("th", { scope: "col" }, "指標 ", el("span", { lang: "en" }, "Indicator")),
        el("th", { scope: "col" }, "実績 ", el("span", { lang: "en" }, "Actual")),
        el("th", { scope: "col" }, "年度累計 ", el("span", { lang: "en" }, "FY to date")),
        el("th", { scope: "col" }, "目標 ", el("span", { lang: "en" }, "Target")),
        el("th", { scope: "col" }, "進捗率 ", el("span", { lang: "en" }, "Rate")),
        el("th", { scope: "col" }, "進捗状況 ", el("span", { lang: "en" }, "Status")))));
    const body = el("tbody");
    for (const v of report.indicators) {
      const rate = v.progress_rate_pct === "" ? null : Number(v.progress_rate_pct);
      const bar = rate == null ? "—" : el("span", {},
        el("progress", { class: "progress", max: 100, value: Math.min(rate, 100), "aria-label": `${v.measure} ${rate}%` }),
        ` ${rate.toFixed(1)}%`);
      body.append(el("tr", { "data-indicator": v.indicator_id },
        el("td", {}, v.measure),
        el("td", {}, v.name_ja, el("br"), el("span", { class: "meta", lang: "en" }, v.name_en)),
        el("td", { class: "num" }, num(v.value), " ", v.value ? v.unit : ""),
        el("td", { class: "num" }, num(v.fiscal_year_to_date)),
        el("td", { class: "num" }, num(v.target)),
        el("td", {}, bar),
        el("td", { class: "status " + statusClass(v.status), title: v.status || "未判定" }, v.status || "−")));
    }
    tbl.append(body);
    return tbl;
  }

  // A horizontal-label bar chart in SVG: items [{label, value}].
  function barChart(title, items, unit) {
    const w = 640, h = 260, left = 48, bottom = 40, top = 16;
    const max = Math.max(1, ...items.map(i => i.value));
    const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img" });
    const tt = svgEl("title"); tt.textContent = title; svg.append(tt);
    const bw = (w - left - 8) / Math.max(1, items.length);
    svg.append(svgEl("line", { x1: left, y1: h - bottom, x2: w, y2: h - bottom, stroke: "#111" }));
    const maxLabel = svgEl("text", { x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 12, fill: "#111" });
    maxLabel.textContent = max.toLocaleString("ja-JP"); svg.append(maxLabel);
    items.forEach((it, i) => {
      const bh = (h - bottom - top) * it.value / max;
      const x = left + i * bw + 2;
      const rect = svgEl("rect", { x, y: h - bottom - bh, width: Math.max(1, bw - 4), height: bh, fill: "#a3000f" });
      const tip = svgEl("title"); tip.textContent = `${it.label}: ${it.value.toLocaleString("ja-JP")} ${unit}`; rect.append(tip);
      svg.append(rect);
      if (items.length <= 12 || i % 3 === 0) {
        const label = svgEl("text", { x: x + bw / 2 - 2, y: h - bottom + 16, "text-anchor": "middle", "font-size": 12, fill: "#111" });
        label.textContent = it.label; svg.append(label);
      }
    });
    return el("figure", {}, svg, el("figcaption", {}, title));
  }

  async function loadIndicators() {
    const month = $("month").value;
    $("message").textContent = "";
    try {
      const r = await api(`/api/bureau/indicators${month ? "?month=" + encodeURIComponent(month) : ""}`);
      const d = await r.json();
      $("monthly-h").textContent = `今月の指標 ${d.monthly.period_label_ja}`;
      $("fy-h").textContent = `今年度の指標 ${d.fiscal.period_label_ja || d.fiscal_year_label_ja}`;
      $("monthly").replaceChildren(table(d.monthly, d.month));
      $("fiscal").replaceChildren(table(d.fiscal, `FY${d.fiscal_year}`));
      $("policies").replaceChildren(...d.fiscal.policies.map(p => el("p", {},
        `${p.name_ja}: `, el("span", { class: "status " + statusClass(p.status) }, p.status || "−"),
        p.progress_rate_pct ? ` ${Number(p.progress_rate_pct).toFixed(1)}%` : "")));
    } catch (e) {
      if (e.status === 401) { $("message").textContent = e.message; return; }
      $("monthly").replaceChildren(el("p", { class: "error" }, `指標を取得できません: ${e.message}`));
      $("fiscal").replaceChildren();
    }
    loadRidership(month);
    loadTrend();
  }

  async function loadRidership(month) {
    const box = $("ridership");
    try {
      const r = await api(`/api/bureau/ridership${month ? "?month=" + encodeURIComponent(month) : ""}`);
      const d = await r.json();
      box.replaceChildren(
        barChart("時間帯別 利用者数 / Uses by hour", d.by_hour.map(x => ({ label: String(x.hour), value: x.uses })), "人"),
        barChart("系統別 利用者数 / Uses by route", d.by_route.map(x => ({ label: x.route, value: x.uses })), "人"));
    } catch (e) {
      if (e.status === 401) return;
      box.replaceChildren(el("p", { class: "meta" }, `時間帯別・系統別の集計はまだ提供されていません。 `,
        el("span", { lang: "en" }, `Ridership by hour and route is not available yet (${e.message}).`)));
    }
  }

  async function loadTrend() {
    try {
      const r = await api(`/api/bureau/report.svg`);
      const blob = await r.blob();
      if (trendUrl) URL.revokeObjectURL(trendUrl);
      trendUrl = URL.createObjectURL(blob);
      $("trend").src = trendUrl;
      $("trend").alt = "延べ利用者数の月別推移のグラフ";
      $("trend-figure").hidden = false;
    } catch (e) { $("trend-figure").hidden = true; }
  }

  async function loadFeeds() {
    try {
      const d = await (await api("/api/bureau/feeds")).json();
      const card = (label, en, value) => el("div", { class: "card" }, el("div", {}, label, " ", el("span", { lang: "en", class: "meta" }, en)), el("div", { class: "big" }, value));
      const sum = o => Object.values(o).reduce((a, b) => a + b, 0);
      if (!d.reachable) {
        $("feeds").replaceChildren(
          card("運行中の車両", "Vehicles reporting", d.vehicles?.reporting == null ? "—" : `${d.vehicles.reporting} / ${d.vehicles.known}`),
          card("取込サービス", "Ingest", "応答なし / unreachable"));
      } else {
        $("feeds").replaceChildren(
          card("運行中の車両", "Vehicles reporting", d.vehicles?.reporting == null ? "—" : `${d.vehicles.reporting} / ${d.vehicles.known}`),
          card("位置情報 受信", "Positions received", (d.received.position || 0).toLocaleString("ja-JP")),
          card("受信 合計", "Messages received", sum(d.received).toLocaleString("ja-JP")),
          card("デッドレター", "Dead letters", d.dead_letters_total.toLocaleString("ja-JP")),
          card("取込遅延 (平均)", "Ingest lag (mean)", d.ingest_lag_seconds == null ? "—" : `${d.ingest_lag_seconds} s`),
          card("未処理", "Pending", d.pending == null ? "—" : String(d.pending)),
          card("ブローカー接続", "Broker", d.mqtt_connected ? "接続中 / up" : "切断 / down"));
      }
      $("feeds-source").textContent = `出典 Source: ${d.url}${d.error ? " — " + d.error : ""}`;
    } catch (e) {
      if (e.status !== 401) $("feeds").replaceChildren(el("p", { class: "error" }, e.message));
    }
  }

  function start() {
    $("token-form").hidden = true;
    $("sign-out").hidden = false;
    $("content").hidden = false;
    loadIndicators();
    loadFeeds();
    clearInterval(feedsTimer);
    feedsTimer = setInterval(loadFeeds, 15000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const now = new Date(Date.now() + 9 * 3600 * 1000);
    $("month").value = now.toISOString().slice(0, 7);
    $("month").addEventListener("change", loadIndicators);
    $("token-form").addEventListener("submit", async e => {
      e.preventDefault();
      sessionStorage.setItem(KEY, $("token").value.trim());
      $("token").value = "";
      try { await api("/api/bureau/feeds"); start(); }
      catch (err) { $("message").textContent = err.status === 401 ? `認証できません / Not authorised: ${err.message}` : err.message; }
    });
    $("sign-out").addEventListener("click", () => { signOut(); $("token").focus(); });
    if (sessionStorage.getItem(KEY)) start();
  });
})();
