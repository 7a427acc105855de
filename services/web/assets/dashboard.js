// Bureau dashboard: indicators of the month and the fiscal year with their
// progress against the plan, ridership charts, the data feeds' health, the
// devices with their refusals, and the reports to download.
// The bearer token lives in sessionStorage (this tab only).
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const KEY = "kagoshima.bureau.token";
  let feedsTimer = null, trendUrl = null;

  async function api(path, method = "GET", body = undefined) {
    const token = sessionStorage.getItem(KEY);
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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

  // A figure with its unit, the English unit as a tooltip.
  function withUnit(value, v) {
    if (value === "" || value == null) return "—";
    return el("span", { title: v.unit_en || null }, num(value), v.unit ? ` ${v.unit}` : "");
  }

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
        el("td", {}, v.name_ja, el("br"), el("span", { class: "meta", lang: "en" }, v.name_en),
          v.definition_ja ? el("p", { class: "definition" }, v.definition_ja, el("br"), el("span", { lang: "en" }, v.definition_en)) : null),
        el("td", { class: "num" }, withUnit(v.value, v)),
        el("td", { class: "num" }, withUnit(v.fiscal_year_to_date, v)),
        el("td", { class: "num" }, withUnit(v.target, v)),
        el("td", {}, bar),
        el("td", { class: "status " + statusClass(v.status), title: v.status || "未判定" }, v.status || "−")));
    }
    tbl.append(body);
    return tbl;
  }

  // A bar chart in SVG, items [{label, value}]. Accessible: role="img" named
  // by its <title> and described by a <desc> that reads out every value, so a
  // screen reader hears the figures, not just "image"; each bar has a tooltip.
  let chartSeq = 0;
  function barChart(title, items, unit, opts = {}) {
    const id = `chart-${++chartSeq}`;
    const w = 640, h = opts.rotate ? 300 : 260, left = 56, bottom = opts.rotate ? 80 : 40, top = 16;
    const max = Math.max(1, ...items.map(i => i.value));
    const total = items.reduce((a, i) => a + i.value, 0);
    const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img",
      "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-desc` });
    const tt = svgEl("title", { id: `${id}-title` }); tt.textContent = title; svg.append(tt);
    const desc = svgEl("desc", { id: `${id}-desc` });
    desc.textContent = items.length === 0 ? "データなし / No data" :
      `合計 Total ${total.toLocaleString("ja-JP")} ${unit}. ` +
      items.map(i => `${i.label}: ${i.value.toLocaleString("ja-JP")}`).join("; ");
    svg.append(desc);
    const bw = (w - left - 8) / Math.max(1, items.length);
    svg.append(svgEl("line", { x1: left, y1: h - bottom, x2: w, y2: h - bottom, stroke: "#111", "aria-hidden": "true" }));
    const maxLabel = svgEl("text", { x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 12, fill: "#111", "aria-hidden": "true" });
    maxLabel.textContent = max.toLocaleString("ja-JP"); svg.append(maxLabel);
    items.forEach((it, i) => {
      const bh = (h - bottom - top) * it.value / max;
      const x = left + i * bw + 2;
      const rect = svgEl("rect", { x, y: h - bottom - bh, width: Math.max(1, bw - 4), height: bh, fill: "#a3000f" });
      const tip = svgEl("title"); tip.textContent = `${it.label}: ${it.value.toLocaleString("ja-JP")} ${unit}`; rect.append(tip);
      svg.append(rect);
      if (items.length <= 12 || i % 3 === 0) {
        const cx = x + bw / 2 - 2, cy = h - bottom + 16;
        const label = svgEl("text", opts.rotate
          ? { x: cx, y: cy - 6, "text-anchor": "end", "font-size": 12, fill: "#111", transform: `rotate(-40 ${cx} ${cy - 6})`, "aria-hidden": "true" }
          : { x: cx, y: cy, "text-anchor": "middle", "font-size": 12, fill: "#111", "aria-hidden": "true" });
        label.textContent = it.label.length > 14 ? it.label.slice(0, 13) + "…" : it.label; svg.append(label);
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
    loadPlanning(month);
    loadTrend();
  }

  async function loadRidership(month) {
    const box = $("ridership");
    try {
      const r = await api(`/api/bureau/ridership${month ? "?month=" + encodeURIComponent(month) : ""}`);
      const d = await r.json();
      const dayNames = { weekday: "平日", saturday: "土曜", holiday: "日祝" };
      const shareText = (label, list) => el("p", { class: "meta" }, `${label}: `,
        list.length ? list.map(s => `${s.key} ${s.share_pct || "—"}%`).join(" / ") : "—");
      box.replaceChildren(
        el("p", {}, `${d.period_label_ja}: 利用 ${d.uses.toLocaleString("ja-JP")} 人 / 乗車 ${d.boardings.toLocaleString("ja-JP")} 人 `,
          el("span", { lang: "en", class: "meta" }, `(uses / boardings)`)),
        barChart(`時間帯別 利用者数 (${d.period}) / Uses by hour (JST)`,
          d.hours.map(x => ({ label: `${x.hour}時`, value: x.uses })), "人"),
        barChart(`系統別 利用者数 (${d.period}) / Uses by route`,
          d.routes.map(x => ({ label: x.label, value: x.uses })), "人", { rotate: d.routes.length > 6 }),
        el("p", { class: "meta" }, "曜日区分 Day type: ",
          d.day_types.map(t => `${dayNames[t.day_type] || t.day_type} ${t.uses.toLocaleString("ja-JP")} 人 (${t.days} 日)`).join(" / ")),
        shareText("媒体 Medium", d.shares.medium),
        shareText("ブランド Brand", d.shares.brand),
        shareText("国内・訪日 Domestic / inbound", d.shares.origin));
    } catch (e) {
      if (e.status === 401) return;
      box.replaceChildren(el("p", { class: "error" }, `利用状況を取得できません / Ridership unavailable: ${e.message}`));
    }
  }

  const BANDS = { early: "早朝 Early", am_peak: "朝ピーク AM peak", midday: "日中 Midday", pm_peak: "夕ピーク PM peak", evening: "夜間 Evening" };
  const mmss = s => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;

  // Trip times of each pattern and band: median and 85th percentile as bars,
  // the timetable as a line (the chart people look at before the table).
  function tripTimeChart(rows, routeName = id => id) {
    const w = 720, h = 300, left = 48, bottom = 70, top = 16;
    const max = Math.max(1, ...rows.map(r => Math.max(r.p85_s, r.scheduled_s))) * 1.1;
    const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img", "aria-label":
      "所要時間と計画 / Trip times against the timetable: " + rows.map(r => `${r.route_id} ${r.band} p50 ${mmss(r.p50_s)} p85 ${mmss(r.p85_s)} scheduled ${mmss(r.scheduled_s)}`).join("; ") });
    const bw = (w - left - 8) / Math.max(1, rows.length);
    const y = v => h - bottom - (h - bottom - top) * v / max;
    svg.append(svgEl("line", { x1: left, y1: h - bottom, x2: w, y2: h - bottom, stroke: "#111", "aria-hidden": "true" }));
    rows.forEach((r, i) => {
      const x = left + i * bw;
      svg.append(svgEl("rect", { x: x + 4, y: y(r.p85_s), width: Math.max(1, bw - 8), height: h - bottom - y(r.p85_s), fill: "#aec7e8" }));
      svg.append(svgEl("rect", { x: x + 9, y: y(r.p50_s), width: Math.max(1, bw - 18), height: h - bottom - y(r.p50_s), fill: "#1f77b4" }));
      svg.append(svgEl("line", { x1: x + 2, x2: x + bw - 2, y1: y(r.scheduled_s), y2: y(r.scheduled_s), stroke: "#d62728", "stroke-width": 3 }));
      const cx = x + bw / 2, cy = h - bottom + 14;
      const label = svgEl("text", { x: cx, y: cy, "text-anchor": "end", "font-size": 11, fill: "#111", transform: `rotate(-35 ${cx} ${cy})`, "aria-hidden": "true" });
      label.textContent = `${routeName(r.route_id)} ${(BANDS[r.band] || r.band).split(" ")[0]}`; svg.append(label);
    });
    const maxLabel = svgEl("text", { x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 12, fill: "#111", "aria-hidden": "true" });
    maxLabel.textContent = `${Math.round(max / 60)}分`; svg.append(maxLabel);
    return el("figure", {}, svg, el("figcaption", { class: "meta" },
      "青: 中央値 / blue: median · 水色: 85%値 / light: 85th percentile · 赤線: 計画 / red line: timetable"));
  }

  // A chart of the planning report (SVG made by the indicators service),
  // fetched with the token; the figure says so when there is none.
  const planningUrls = [];
  // The month's routes (from its all-routes report), for the route picker.
  let planningRoutes = [];
  async function planningChart(query, file, alt) {
    const img = el("img", { class: "chart", alt });
    // Opens full size (the charts are wide; on a phone they are small).
    const link = el("a", { target: "_blank", rel: "noopener" }, img);
    const fig = el("figure", {}, link, el("figcaption", { class: "meta" }, alt));
    try {
      const r = await api(`/api/bureau/planning/file?${query}&file=${encodeURIComponent(file)}`);
      const url = URL.createObjectURL(await r.blob());
      planningUrls.push(url);
      img.src = url;
      link.href = url;
    } catch (e) {
      if (e.status === 401) throw e;
      fig.replaceChildren(el("p", { class: "meta" }, `${alt}: ${e.message}`));
    }
    return fig;
  }

  let planningSeq = 0;
  async function loadPlanning(month, route = "") {
    const box = $("planning");
    // Only the last request asked for draws (a month chosen while another loads).
    const seq = ++planningSeq;
    const current = () => seq === planningSeq;
    planningUrls.splice(0).forEach(u => URL.revokeObjectURL(u));
    box.replaceChildren(el("p", { class: "meta" }, "分析中… / Analysing…"));
    const query = `month=${encodeURIComponent(month || "")}&route_id=${encodeURIComponent(route)}`;
    try {
      const r = await api(`/api/bureau/planning?${query}`);
      const d = await r.json();
      if (!current()) return;
      if (d.empty_reason) { box.replaceChildren(el("p", {}, d.empty_reason)); return; }
      const stop = id => d.stop_names[id] || id;
      const routeName = id => d.route_names[id] ? `${d.route_names[id]}` : id;
      const rows = d.trip_times.filter(t => t.runs > 0).sort((a, b) => (b.p50_s - b.scheduled_s) - (a.p50_s - a.scheduled_s));
      const verdict = t => t.runs < 5 ? "データ不足 / too few runs" : t.p50_s > t.scheduled_s * 1.05 ? "きつい / too tight"
        : t.p85_s < t.scheduled_s * 0.95 ? "ゆるい / too loose" : "適正 / fits";
      const tbl = el("table", {}, el("thead", {}, el("tr", {}, ...["系統 Route", "区間 From → to", "時間帯 Band", "運行 Runs",
          "計画 Timetable", "中央値 Median", "85%値 p85", "推奨 Recommended", "判定 Verdict"].map(h => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows.slice(0, 20).map(t => el("tr", {}, el("td", {}, routeName(t.route_id)), el("td", {}, `${stop(t.first_stop_id)} → ${stop(t.last_stop_id)}`),
          el("td", {}, BANDS[t.band] || t.band), el("td", { class: "num" }, String(t.runs)), el("td", { class: "num" }, mmss(t.scheduled_s)),
          el("td", { class: "num" }, mmss(t.p50_s)), el("td", { class: "num" }, mmss(t.p85_s)), el("td", { class: "num" }, mmss(t.recommended_s)),
          el("td", {}, verdict(t))))));
      const crowded = d.crowded_trips;
      // Routes to choose from: those of the month's report (all routes).
      if (!route) planningRoutes = [...new Set(d.load_profiles.map(p => p.route_id).concat(d.trip_times.map(t => t.route_id)))].sort()
        .map(id => [id, routeName(id)]);
      const choices = planningRoutes.some(([id]) => id === route) || !route ? planningRoutes : planningRoutes.concat([[route, routeName(route)]]);
      const picker = el("select", { id: "planning-route" },
        el("option", { value: "" }, "全路線 / All routes"),
        ...choices.map(([id, name]) => el("option", { value: id }, `${name} (${id})`)));
      picker.value = route;
      picker.addEventListener("change", () => loadPlanning(month, picker.value));
      const button = (label, file) => {
        const b = el("button", { type: "button" }, label);
        b.addEventListener("click", () => save(`/api/bureau/planning/file?${query}&file=${file}`, file));
        return b;
      };
      // Load profiles: the chosen route's directions, else the busiest.
      const profileKeys = [...new Map(d.load_profiles.map(p => [`${p.route_id}|${p.direction_id}`, p])).values()];
      const busiest = profileKeys.slice().sort((a, b) => b.trips - a.trips)[0];
      const shown = route ? profileKeys.filter(p => p.route_id === route) : (busiest ? [busiest] : []);
      const safe = id => id.replace(/[^A-Za-z0-9_-]/g, "_");
      const charts = await Promise.all(shown.map(p => planningChart(query, `load-profile-${safe(p.route_id)}-${p.direction_id}.svg`,
        `停留所別の車内人数 ${routeName(p.route_id)} 方向${p.direction_id} / Load leaving each stop`)));
      if (route) charts.push(await planningChart(query, "string-line.svg",
        `ダイヤグラム（朝ピーク、実績と計画）${routeName(route)} / Time-distance diagram, morning peak`));
      if (!current()) return;
      box.replaceChildren(
        el("p", {}, el("label", { for: "planning-route" }, "路線 / Route: "), picker, " ",
          button("ダイヤ案 GTFS (zip) / Draft timetable", "draft.zip"), " ",
          button("Excel (xlsx)", "planning.xlsx"), " ",
          button("全ファイル (zip) / Everything", "planning.zip")),
        el("p", {}, `${d.from} – ${d.until}: 観測 ${d.days_observed} 日、乗車のあった便 ${d.trips_with_riders.toLocaleString("ja-JP")}、定員超過 ${crowded.length} `,
          el("span", { lang: "en", class: "meta" }, `(days observed, trips with riders, over capacity)`)),
        tripTimeChart(rows.slice(0, 16), routeName),
        el("div", { class: "table-wrap" }, tbl),
        ...charts,
        el("h3", {}, "混雑した便 ", el("span", { lang: "en" }, "Crowded trips")),
        crowded.length ? el("ul", {}, ...crowded.slice(0, 10).map(t => el("li", {},
          `${t.service_date} ${t.trip_id} ${routeName(t.route_id)} (${BANDS[t.band] || t.band}): 最大 ${t.peak_load} 人 / 定員 ${t.capacity} @ ${stop(t.peak_stop_id)}`)))
          : el("p", {}, "定員を超えた便はありません / No trip passed its capacity."),
        el("h3", {}, "増便・時刻変更の提案 ", el("span", { lang: "en" }, "Suggestions")),
        d.suggestions.length ? el("ul", {}, ...d.suggestions.slice(0, 15).map(x => el("li", {},
          `${routeName(x.route_id)} ${x.trip_id} ${x.departure.slice(0, 5)}発 (${x.crowded_days}/${x.days} 日超過, 混雑日 ${Math.round(x.design_load)} 人 / 定員 ${x.capacity}): ${x.text}`)))
          : el("p", {}, "繰り返し混雑する便はありません / No trip is crowded again and again."));
    } catch (e) {
      if (e.status === 401 || !current()) return;
      box.replaceChildren(el("p", { class: "error" }, `ダイヤ編成の分析を取得できません / Planning unavailable: ${e.message}`));
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

  // TimescaleDB's compression and retention jobs: an operator must see a
  // failing one (the data keeps growing uncompressed, or is kept too long).
  function jobsCard(card, failing) {
    const c = card("DB定期ジョブ", "Database jobs", failing.length ? `失敗 ${failing.length} / failing` : "正常 / ok");
    if (failing.length) {
      c.classList.add("alert");
      c.append(el("ul", { class: "meta" }, ...failing.map(j => el("li", {}, j))));
    }
    return c;
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
          card("ブローカー接続", "Broker", d.mqtt_connected ? "接続中 / up" : "切断 / down"),
          jobsCard(card, d.failing_jobs || []));
      }
      $("feeds-source").textContent = `出典 Source: ${d.url}${d.error ? " — " + d.error : ""}`;
    } catch (e) {
      if (e.status !== 401) $("feeds").replaceChildren(el("p", { class: "error" }, e.message));
    }
  }

  // Reports to download: the month (with its fiscal year to date) or the
  // fiscal year. Fetched with the token, then saved from a blob URL.
  async function download(format, scope) {
    const month = $("month").value;
    const [y, m] = month.split("-").map(Number);
    const period = scope === "fy" ? `FY${m >= 4 ? y : y - 1}` : month;
    await save(`/api/bureau/export?format=${format}&period=${encodeURIComponent(period)}`, `indicators-${period}.${format}`);
  }

  // Fetches a file with the token and saves it under the server's name.
  async function save(path, fallbackName) {
    try {
      const r = await api(path);
      const name = (r.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || fallbackName;
      const url = URL.createObjectURL(await r.blob());
      const a = el("a", { href: url, download: name });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { $("message").textContent = `ダウンロードできません / Download failed: ${e.message}`; }
  }

  const KINDS = [["position", "位置"], ["tap", "タッチ"], ["passengers", "乗降人数"], ["status", "稼働"]];
  const ago = iso => {
    if (!iso) return "—";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 90 ? `${s} 秒前 / ${s} s` : s < 5400 ? `${Math.round(s / 60)} 分前 / ${Math.round(s / 60)} min` : `${Math.round(s / 3600)} 時間前 / ${Math.round(s / 3600)} h`;
  };

  async function loadDevices() {
    const hours = $("device-window").value;
    try {
      const d = await (await api(`/api/bureau/devices?hours=${hours}`)).json();
      const head = el("tr", {}, el("th", { scope: "col" }, "車両 ", el("span", { lang: "en" }, "Vehicle")),
        el("th", { scope: "col" }, "機器 ", el("span", { lang: "en" }, "Device")),
        el("th", { scope: "col" }, "最終受信 ", el("span", { lang: "en" }, "Last seen")),
        ...KINDS.map(([k, ja]) => el("th", { scope: "col", class: "num" }, ja, " ", el("span", { lang: "en" }, k))),
        el("th", { scope: "col", class: "num" }, "拒否 ", el("span", { lang: "en" }, "Refused")),
        el("th", { scope: "col" }, ""));
      const rows = d.devices.map(v => el("tr", { "data-vehicle": v.vehicle_id, class: v.refused ? "alert" : "" },
        el("th", { scope: "row" }, v.vehicle_id, el("br"), el("span", { class: "meta" }, v.mode || "—")),
        el("td", {}, [v.device_kind, v.firmware].filter(Boolean).join(" ") || "—"),
        el("td", {}, ago(v.last_seen)),
        ...KINDS.map(([k]) => el("td", { class: "num" }, (v.stored[k] || 0).toLocaleString("ja-JP"))),
        el("td", { class: "num" }, v.refused.toLocaleString("ja-JP")),
        el("td", {}, v.refused ? el("button", { type: "button", "data-detail": v.vehicle_id }, "詳細 ", el("span", { lang: "en" }, "Details")) : "")));
      $("devices").replaceChildren(d.devices.length
        ? el("table", {}, el("caption", { class: "meta" }, `直近 ${d.window_hours} 時間 / last ${d.window_hours} h: ${d.devices.length} 台`), el("thead", {}, head), el("tbody", {}, ...rows))
        : el("p", {}, `直近 ${d.window_hours} 時間に受信した機器はありません / No device heard from in the last ${d.window_hours} h`));
      $("dead-letters").replaceChildren(d.dead_letters.length
        ? el("table", {}, el("thead", {}, el("tr", {},
            el("th", { scope: "col" }, "理由 ", el("span", { lang: "en" }, "Reason")),
            el("th", { scope: "col" }, "車両 ", el("span", { lang: "en" }, "Vehicle")),
            el("th", { scope: "col", class: "num" }, "件数 ", el("span", { lang: "en" }, "Count")))),
          el("tbody", {}, ...d.dead_letters.map(x => el("tr", {},
            el("td", {}, el("code", {}, x.reason)), el("td", {}, x.vehicle_id || "(不明 unknown)"),
            el("td", { class: "num" }, x.count.toLocaleString("ja-JP"))))))
        : el("p", {}, "デッドレターはありません / No dead letters"));
    } catch (e) {
      if (e.status !== 401) $("devices").replaceChildren(el("p", { class: "error" }, `機器の状態を取得できません / Devices unavailable: ${e.message}`));
    }
  }

  async function showDevice(vehicle) {
    const hours = $("device-window").value;
    const box = $("device-detail");
    try {
      const d = await (await api(`/api/bureau/devices/${encodeURIComponent(vehicle)}?hours=${hours}`)).json();
      box.replaceChildren(el("h3", {}, `${vehicle}: 拒否の理由 `, el("span", { lang: "en" }, "Refusals by reason")),
        ...d.refusals.map(r => el("article", { class: "refusal" },
          el("p", {}, el("code", {}, r.reason), ` × ${r.count.toLocaleString("ja-JP")} — 最新 latest ${ago(r.latest_at)}`),
          el("p", {}, r.latest_detail),
          el("p", { class: "meta" }, `トピック Topic: ${r.latest_topic || "—"} (${r.latest_payload_encoding}${r.latest_payload_truncated ? ", 先頭 4 KiB first 4 KiB" : ""})`),
          el("pre", {}, r.latest_payload))));
      box.querySelector("h3")?.scrollIntoView({ block: "nearest" });
    } catch (e) { box.replaceChildren(el("p", { class: "error" }, e.message)); }
  }

  // Service alerts: the bureau's form, and the list with an end button.
  const jstLocal = iso => iso ? new Date(new Date(iso).getTime() + 9 * 3600 * 1000).toISOString().slice(0, 16).replace("T", " ") : "—";
  const fromLocal = v => v ? new Date(v + ":00+09:00").toISOString() : null;

  async function loadAlerts() {
    try {
      const rows = await (await api("/api/bureau/alerts")).json();
      if (!rows.length) { $("alerts").replaceChildren(el("p", { class: "meta" }, "お知らせはありません / No alerts")); return; }
      const t = el("table", {}, el("caption", {}, "お知らせ一覧 / Alerts"),
        el("thead", {}, el("tr", {}, ...["見出し / Header", "影響 / Effect", "対象 / About", "期間 / When", "状態 / State", ""].map(h => el("th", { scope: "col" }, h)))));
      const body = el("tbody");
      for (const a of rows) {
        const about = a.entities.map(e => Object.entries(e).filter(([, v]) => v).map(([k, v]) => `${k.replace("_id", "")}: ${v}`).join(", ")).join("; ");
        const state = a.ended_at ? `終了 / Ended ${jstLocal(a.ended_at)}` : "掲出中 / Published";
        body.append(el("tr", { "data-alert": a.id },
          el("td", {}, a.header.ja || "", el("br"), el("span", { lang: "en" }, a.header.en || "")),
          el("td", {}, a.effect), el("td", {}, about),
          el("td", {}, `${jstLocal(a.start)} – ${jstLocal(a.end)}`),
          el("td", {}, state),
          el("td", {}, a.ended_at ? null : el("button", { type: "button", "data-end": a.id }, "終了 / End"))));
      }
      t.append(body);
      $("alerts").replaceChildren(t);
    } catch (e) { $("alerts").replaceChildren(el("p", { class: "error" }, e.message)); }
  }

  async function publishAlert(e) {
    e.preventDefault();
    const texts = attr => Object.fromEntries([...document.querySelectorAll(`[data-${attr}]`)]
      .map(i => [i.dataset[attr], i.value.trim()]).filter(([, v]) => v));
    const form = {
      effect: $("alert-effect").value, cause: $("alert-cause").value,
      header: texts("header"), description: texts("description"),
      entities: [{ [$("alert-scope").value]: $("alert-target").value.trim() }],
      start: fromLocal($("alert-start").value), end: fromLocal($("alert-end").value),
    };
    try {
      await api("/api/bureau/alerts", "POST", form);
      $("alert-message").textContent = "掲出しました / Published";
      $("alert-form").reset();
      loadAlerts();
    } catch (err) { $("alert-message").textContent = `掲出できません / Not published: ${err.message}`; }
  }

  function start() {
    $("token-form").hidden = true;
    $("sign-out").hidden = false;
    $("content").hidden = false;
    loadIndicators();
    loadFeeds();
    loadDevices();
    loadAlerts();
    clearInterval(feedsTimer);
    feedsTimer = setInterval(loadFeeds, 15000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const now = new Date(Date.now() + 9 * 3600 * 1000);
    $("month").value = now.toISOString().slice(0, 7);
    $("month").addEventListener("change", loadIndicators);
    $("device-window").addEventListener("change", loadDevices);
    $("devices").addEventListener("click", e => {
      const b = e.target.closest("button[data-detail]");
      if (b) showDevice(b.dataset.detail);
    });
    document.querySelectorAll("button[data-export]").forEach(b =>
      b.addEventListener("click", () => download(b.dataset.export, b.dataset.scope)));
    $("token-form").addEventListener("submit", async e => {
      e.preventDefault();
      sessionStorage.setItem(KEY, $("token").value.trim());
      $("token").value = "";
      try { await api("/api/bureau/feeds"); start(); }
      catch (err) { $("message").textContent = err.status === 401 ? `認証できません / Not authorised: ${err.message}` : err.message; }
    });
    $("sign-out").addEventListener("click", () => { signOut(); $("token").focus(); });
    $("alert-form").addEventListener("submit", publishAlert);
    $("alert-scope").addEventListener("change", () => {
      $("alert-target").value = $("alert-scope").value === "agency_id" ? "kagoshima-kotsu" : "";
    });
    $("alerts").addEventListener("click", async e => {
      const b = e.target.closest("button[data-end]");
      if (!b) return;
      try { await api(`/api/bureau/alerts/${encodeURIComponent(b.dataset.end)}/end`, "POST"); loadAlerts(); }
      catch (err) { $("alert-message").textContent = err.message; }
    });
    if (sessionStorage.getItem(KEY)) start();
  });
})();
