// Browser tests of the web pages, against a running kagoshima-web
// (KAGOSHIMA_WEB_URL) with the location service behind it. The dashboard
// test needs a bureau token the server accepts (KAGOSHIMA_BUREAU_TOKEN).
// Screenshots go to docs/screenshots/ (KAGOSHIMA_SCREENSHOTS=0 to skip).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const BASE = (process.env.KAGOSHIMA_WEB_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const TOKEN = process.env.KAGOSHIMA_BUREAU_TOKEN || "";
const SHOTS = process.env.KAGOSHIMA_SCREENSHOTS !== "0";
const SHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots");
const STOP = "tram_tenmonkan_dori";

let context, profile;

// Polls from Node (the pages' CSP forbids the eval that waitForFunction needs).
async function until(check, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "kagoshima-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 375, height: 812 },
    locale: "ja-JP",
    timezoneId: "Asia/Tokyo",
  });
  if (SHOTS) mkdirSync(SHOT_DIR, { recursive: true });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// Rows from the timetable alone (no vehicle, or one without live data) show
// their clock time and are never "due"; live rows show minutes.
async function assertTruthful(page, selector, dueWord) {
  const rows = await page.$$eval(selector, lis => lis.map(li => ({
    status: li.dataset.status, live: li.classList.contains("live"),
    mins: li.querySelector(".mins")?.textContent.trim() || "" })));
  assert.ok(rows.length > 0, "no rows");
  for (const r of rows) {
    if (r.live) continue;
    assert.ok(["scheduled_only", "stale", "detour"].includes(r.status), `a non-live row with status ${r.status}`);
    assert.match(r.mins, /^\d{1,2}:\d{2}$/, `a ${r.status} row shows "${r.mins}"`);
    assert.notEqual(r.mins, dueWord);
  }
}

test("passenger page shows arrivals for 天文館通 in Japanese and English", async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 375, height: 812 });
  await page.goto(`${BASE}/?lang=ja`);
  assert.equal(await page.getAttribute("html", "lang"), "ja");
  await page.getByLabel("停留所を探す").fill("てんもんかん");
  await page.getByRole("button", { name: "検索" }).click();
  await page.locator(`button[data-stop="${STOP}"]`).click();
  await page.locator("#stop-name", { hasText: "天文館通" }).waitFor();
  const row = page.locator("#arrivals li").first();
  await row.waitFor({ timeout: 15000 });
  assert.match(await row.innerText(), /分|まもなく|\d{1,2}:\d{2}/);
  await assertTruthful(page, "#arrivals li[data-trip]", "まもなく");
  assert.equal(await page.getAttribute("#arrivals", "aria-live"), "polite");
  // No horizontal scrolling on a 375 px phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page wider than the screen by ${overflow}px`);
  // The route map: the line from the network's shapes, the stops, live vehicles.
  await page.locator("#map polyline.route-line").first().waitFor({ state: "attached", timeout: 15000 });
  assert.ok(await page.locator(`#map circle[data-stop="${STOP}"]`).count() === 1, "天文館通 on the map");
  assert.match(await page.textContent("#map desc"), /天文館通|停留所/);
  await page.locator("#map g.vehicle").first().waitFor({ state: "attached", timeout: 20000 });
  assert.ok(await page.locator("#vehicle-list li[data-vehicle]").count() >= 1, "vehicles listed as text");
  // The markers move: a position changes within a few refreshes.
  const where = () => page.$$eval("#map g.vehicle", gs => gs.map(g => `${g.dataset.vehicle}@${g.style.transform}`).join(";"));
  const before = await where();
  await until(async () => (await where()) !== before, 30000, "a vehicle to move");
  await page.waitForTimeout(5000);
  // Crowding from the simulated passenger counters: some live row says how
  // full its tram or bus is, in words.
  await page.locator("#arrivals .crowd").first().waitFor({ timeout: 60000 });
  assert.match(await page.innerText("#arrivals .crowd >> nth=0"), /空席あり|やや混雑|混雑|大変混雑/);
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, "passenger.png"), fullPage: true });

  await page.selectOption("#lang", "en");
  await page.locator("#stop-name", { hasText: "Tenmonkan" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.locator("#arrivals li", { hasText: /min|Now|Scheduled/ }).first().waitFor({ timeout: 15000 });
  await assertTruthful(page, "#arrivals li[data-trip]", "Now");
  assert.equal(await page.getByLabel("Find a stop").count(), 1);
  // Where a prediction's likely window is wide, its countdown is a range.
  const ranged = page.locator("#arrivals li.live[data-minutes-range]").first();
  await ranged.waitFor({ timeout: 60000 });
  const [lo, hi] = (await ranged.getAttribute("data-minutes-range")).split("-").map(Number);
  assert.ok(hi >= lo + 2, `a range of ${lo}-${hi} minutes`);
  assert.match(await ranged.innerText(), new RegExp(`(^|\\s)${lo}-${hi} min`));
  await page.close();
});

test("signage updates as a tram approaches", async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${BASE}/signage/${STOP}`);
  const rows = page.locator("#rows li[data-trip]");
  await rows.first().waitFor({ timeout: 20000 });
  assert.equal(await page.getAttribute("#rows", "aria-live"), "polite");
  const snapshot = () => page.$$eval("#rows li[data-trip]", lis => lis.map(li => `${li.dataset.trip}:${li.dataset.minutes}`).join(","));
  const first = await snapshot();
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, "signage.png") });
  // Alternates to English within ~8 s.
  await until(async () => (await page.getAttribute("html", "lang")) === "en", 12000, "English turn");
  // As the tram comes nearer the minutes fall, or it leaves and a new one appears.
  await until(async () => { const now = await snapshot(); return now !== "" && now !== first; }, 100000, "signage update");
  await assertTruthful(page, "#rows li[data-trip]", "Now");
  await page.close();
});

test("stops near the phone's position, nearest first, in the page's language", async () => {
  // A phone standing at 天文館通 (the simulated feed's coordinates).
  const stop = await (await fetch(`${BASE}/api/stops/${STOP}?lang=en`)).json();
  const { lat, lon } = stop.stop;
  const page = await context.newPage();
  await context.grantPermissions(["geolocation"], { origin: BASE });
  await context.setGeolocation({ latitude: lat + 0.0004, longitude: lon });
  await page.goto(`${BASE}/?lang=en`);
  await page.getByRole("button", { name: "Stops near me" }).click();
  const first = page.locator("#results button[data-stop]").first();
  await first.waitFor({ timeout: 10000 });
  assert.equal(await first.getAttribute("data-stop"), STOP, "the nearest stop comes first");
  assert.match(await first.innerText(), /Tenmonkan[\s\S]*\d+ m/);
  assert.equal(await page.textContent("#results-h"), "Stops near me");
  // The API says what to do without a position.
  const bad = await fetch(`${BASE}/api/stops/nearby?lang=en`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /lat and lon/);
  const notANumber = await fetch(`${BASE}/api/stops/nearby?lat=north&lon=130.5&lang=en`);
  assert.equal(notANumber.status, 400);
  assert.match((await notANumber.json()).error.message, /lat must be degrees/);
  await page.close();
});

test("a stop's timetable for today and another day, and favourite stops kept on the device", async () => {
  const page = await context.newPage();
  await page.goto(`${BASE}/?lang=ja&stop=${STOP}`);
  await page.locator("#stop-name", { hasText: "天文館通" }).waitFor();
  // Step-free boarding, where the feed says (stops.txt wheelchair_boarding).
  assert.match(await page.innerText(".step-free"), /段差なく乗車できます/);
  await page.locator("#timetable-box summary").click();
  const hours = page.locator("#timetable tr");
  await hours.first().waitFor({ timeout: 10000 });
  const today = await page.inputValue("#tt-date");
  assert.match(today, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(await hours.count() >= 10, "departures over the day, by hour");
  assert.match(await page.innerText("#timetable"), /\d{2}\s*[12]系統/);
  // Another day: the next Sunday (a holiday timetable where the feed has one).
  const d = new Date(`${today}T12:00:00+09:00`);
  d.setUTCDate(d.getUTCDate() + ((7 - d.getUTCDay()) % 7 || 7));
  const sunday = d.toISOString().slice(0, 10);
  await page.fill("#tt-date", sunday);
  await page.dispatchEvent("#tt-date", "change");
  await page.locator("#tt-meta", { hasText: sunday }).waitFor();
  assert.ok(await hours.count() >= 1);

  // Favourites: saved on this device, listed on the next visit.
  assert.equal(await page.getAttribute("#favourite", "aria-pressed"), "false");
  await page.click("#favourite");
  assert.equal(await page.getAttribute("#favourite", "aria-pressed"), "true");
  await page.goto(`${BASE}/?lang=ja`);
  await page.locator(`#favourites button[data-stop="${STOP}"]`).waitFor();
  await page.click(`#favourites button[data-stop="${STOP}"]`);
  await page.locator("#stop-name", { hasText: "天文館通" }).waitFor();
  await page.click("#favourite");
  assert.equal(await page.isHidden("#favourites-section"), true, "removed again");
  await page.close();
});

test("signage fits landscape and portrait screens with no scrollbar, in the feed's colours", async () => {
  for (const [width, height, name] of [[1920, 1080, "signage-1920x1080.png"], [1080, 1920, "signage-1080x1920.png"]]) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(`${BASE}/signage/${STOP}`);
    await page.locator("#rows li[data-trip]").nth(5).waitFor({ timeout: 20000 });
    await page.waitForTimeout(1000);
    const fit = await page.evaluate(() => ({
      scrollH: document.documentElement.scrollHeight, scrollW: document.documentElement.scrollWidth,
      innerH: window.innerHeight, innerW: window.innerWidth,
      status: document.getElementById("status").getBoundingClientRect().bottom,
      lastRow: [...document.querySelectorAll("#rows li")].pop().getBoundingClientRect().bottom,
      badges: [...document.querySelectorAll("#rows .route")].map(b => getComputedStyle(b).backgroundColor),
    }));
    assert.ok(fit.scrollH <= fit.innerH && fit.scrollW <= fit.innerW,
      `${width}x${height}: the page scrolls (${fit.scrollW}x${fit.scrollH})`);
    assert.ok(fit.lastRow <= fit.innerH && fit.status <= fit.innerH,
      `${width}x${height}: rows or the status line fall below the screen (${fit.lastRow}, ${fit.status})`);
    // The tram lines' colours come from the feed: not all the same white.
    assert.ok(new Set(fit.badges).size > 1 || !fit.badges.every(c => c === "rgb(255, 255, 255)"),
      `route badges all ${fit.badges[0]}`);
    if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, name) });
    await page.close();
  }
});

test("dashboard refuses a missing token and shows the indicators with one", async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  const refused = await page.request.get(`${BASE}/api/bureau/indicators`);
  assert.equal(refused.status(), 401);
  assert.equal((await refused.json()).error.code, "unauthenticated");

  await page.goto(`${BASE}/dashboard`);
  await page.locator("#token").fill("not-a-valid-token");
  await page.locator("#token-form button[type=submit]").click();
  await page.locator("#message", { hasText: /Not authorised|認証/ }).waitFor();
  assert.equal(await page.isVisible("#content"), false);

  assert.ok(TOKEN, "set KAGOSHIMA_BUREAU_TOKEN to a token the server accepts");
  await page.locator("#token").fill(TOKEN);
  await page.locator("#token-form button[type=submit]").click();
  await page.locator("#content").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("kagoshima.bureau.token")), TOKEN);
  await page.locator("#feeds .card").first().waitFor();
  // The database's background jobs have a card: ok, or the failing ones listed.
  assert.match(await page.innerText("#feeds"), /Database jobs[\s\S]*(正常 \/ ok|失敗 \d+ \/ failing)/);
  // Indicators need IndicatorService: a table with 令和 labels and statuses.
  await page.locator("#fiscal table tbody tr").first().waitFor({ timeout: 15000 });
  assert.match(await page.innerText("#fy-h"), /令和\d+年度|令和元年度/);
  assert.match(await page.innerText("#fiscal"), /[◎○△−]/);
  // Units and definitions beside every indicator, thousands separators.
  assert.match(await page.innerText("#monthly"), /件|人|回|%/);

  // The month's report downloads as CSV with the indicators in it.
  const [csv] = await Promise.all([page.waitForEvent("download"),
    page.locator('button[data-export="csv"][data-scope="month"]').click()]);
  assert.match(csv.suggestedFilename(), /^indicators-\d{4}-\d{2}\.csv$/);
  const csvText = await (await import("node:fs/promises")).readFile(await csv.path(), "utf8");
  assert.match(csvText, /No\.58/);
  const [xlsx] = await Promise.all([page.waitForEvent("download"),
    page.locator('button[data-export="xlsx"][data-scope="fy"]').click()]);
  assert.match(xlsx.suggestedFilename(), /^indicators-FY\d{4}\.xlsx$/);

  // Devices: the simulated fleet's messages by kind, and the vendor's refused
  // tap (published by scripts/test-browser.sh) with its reason and payload.
  await page.locator("#devices tbody tr").first().waitFor({ timeout: 15000 });
  const vendorVehicle = process.env.KAGOSHIMA_REFUSED_VEHICLE;
  if (vendorVehicle) {
    await page.locator(`#devices tr[data-vehicle="${vendorVehicle}"] button[data-detail]`).click();
    await page.locator("#device-detail .refusal").first().waitFor();
    const detail = await page.innerText("#device-detail");
    assert.match(detail, /malformed_payload/);
    assert.match(detail, /"onn" is not a TapAction; accepted: ON, OFF/);
    assert.match(await page.innerText("#dead-letters"), new RegExp(vendorVehicle));
  }
  // Timetable planning of the chosen month: the live day's stop visits give
  // a report (route picker, downloads), or the section says why there is none
  // (the first minutes of a month).
  await page.locator("#planning-route, #planning p:not(.meta)").first().waitFor({ timeout: 60000 });
  if (await page.locator("#planning-route").count()) {
    const [plan] = await Promise.all([page.waitForEvent("download", { timeout: 60000 }),
      page.getByRole("button", { name: /Excel/ }).click()]);
    assert.match(plan.suggestedFilename(), /^planning-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}-planning\.xlsx$/);
  } else {
    assert.match(await page.innerText("#planning"), /no stop visits/);
  }
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, "dashboard.png"), fullPage: true });
  await page.close();
});

// Last: the alerts it publishes act on every board while they last.
test("service alerts from the dashboard reach the page and the sign in every language, and leave when ended", async () => {
  assert.ok(TOKEN, "set KAGOSHIMA_BUREAU_TOKEN to a token the server accepts");
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const festival = {
    ja: "おはら祭のため天文館周辺の市バスは迂回運行します（市電は通常運行）", en: "Ohara Festival: city buses detour around Tenmonkan (trams run as usual)",
    "zh-Hans": "因小原节，天文馆周边的市巴士绕行（电车正常运行）", "zh-Hant": "因小原祭，天文館周邊的市巴士繞行（電車正常行駛）", ko: "오하라 축제로 덴몬칸 주변 시내버스가 우회 운행합니다 (노면전차는 정상 운행)",
  };
  // The bureau publishes the festival detour with the dashboard's form.
  const dash = await context.newPage();
  await dash.setViewportSize({ width: 1280, height: 900 });
  await dash.goto(`${BASE}/dashboard`);
  await dash.locator("#token").fill(TOKEN);
  await dash.locator("#token-form button[type=submit]").click();
  await dash.locator("#alert-form").waitFor();
  await dash.selectOption("#alert-effect", "detour");
  await dash.selectOption("#alert-cause", "demonstration");
  await dash.selectOption("#alert-scope", "stop_id");
  await dash.locator("#alert-target").fill(STOP);
  for (const [lang, text] of Object.entries(festival)) await dash.locator(`[data-header="${lang}"]`).fill(text);
  await dash.locator('[data-description="ja"]').fill("18時から22時まで、天文館・いづろ周辺の道路が通行止めになります。バスは朝日通・いづろ通のバス停をご利用ください。");
  await dash.locator("#alert-form button[type=submit]").click();
  await dash.locator("#alert-message", { hasText: "Published" }).waitFor();
  await dash.locator("#alerts tr[data-alert]", { hasText: festival.ja }).waitFor();
  // A draft without its English header is refused with the reason.
  const refused = await dash.request.post(`${BASE}/api/bureau/alerts`, { headers: auth,
    data: { effect: "no_service", header: { ja: "運休" }, entities: [{ agency_id: "kagoshima-kotsu" }] } });
  assert.equal(refused.status(), 400);
  assert.match((await refused.json()).error.message, /"en"/);

  // The passenger page: a banner in each of the five languages.
  const page = await context.newPage();
  await page.setViewportSize({ width: 375, height: 812 });
  for (const [lang, text] of Object.entries(festival)) {
    await page.goto(`${BASE}/?stop=${STOP}&lang=${lang}`);
    await page.locator("#arrivals .alert", { hasText: text }).waitFor({ timeout: 20000 });
    assert.equal(await page.getAttribute(`#arrivals .alert span[lang="${lang}"]`, "lang"), lang);
  }
  await page.goto(`${BASE}/?stop=${STOP}&lang=ja`);
  await page.locator("#arrivals .alert", { hasText: festival.ja }).waitFor({ timeout: 20000 });
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, "passenger-festival.png"), fullPage: true });

  // The sign: a line over the rows, Japanese then English, still no scrollbar.
  const sign = await context.newPage();
  await sign.setViewportSize({ width: 1920, height: 1080 });
  await sign.goto(`${BASE}/signage/${STOP}`);
  await sign.locator("#alert", { hasText: festival.ja }).waitFor({ timeout: 20000 });
  if (SHOTS) await sign.screenshot({ path: join(SHOT_DIR, "signage-festival.png") });
  await sign.locator("#alert", { hasText: festival.en }).waitFor({ timeout: 12000 });
  const fits = await sign.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight);
  assert.ok(fits, "the sign scrolls with an alert line");

  // One tram cancelled: its row leaves the page, the alert says why.
  await page.goto(`${BASE}/?stop=${STOP}&lang=en`);
  await page.locator("#arrivals li[data-trip]").first().waitFor({ timeout: 20000 });
  // A trip a few minutes away: one at the stop now may leave the board
  // before the alert reaches it, and then the alert has no row to explain.
  const trip = await page.evaluate(() => [...document.querySelectorAll("#arrivals li[data-trip]")]
    .find(li => Number(li.dataset.minutes) >= 3)?.dataset.trip);
  assert.ok(trip, "a trip at least 3 minutes away on the board");
  const cancel = await dash.request.post(`${BASE}/api/bureau/alerts`, { headers: auth, data: {
    effect: "no_service", cause: "technical_problem",
    header: { ja: "車両故障のため、この便は運休します", en: "This tram is cancelled: vehicle breakdown" },
    entities: [{ trip_id: trip }] } });
  assert.equal(cancel.status(), 200, await cancel.text());
  await page.locator("#arrivals .alert", { hasText: "vehicle breakdown" }).waitFor({ timeout: 20000 });
  assert.equal(await page.locator(`#arrivals li[data-trip="${trip}"]`).count(), 0, `trip ${trip} still listed`);
  const cancelled = await cancel.json();
  assert.equal((await dash.request.post(`${BASE}/api/bureau/alerts/${cancelled.id}/end`, { headers: auth })).status(), 200);

  // A typhoon suspends all trams and buses: every board empties, with the reason.
  const typhoon = await dash.request.post(`${BASE}/api/bureau/alerts`, { headers: auth, data: {
    effect: "no_service", cause: "weather",
    header: { ja: "台風10号の接近のため、市電・市バスは全線で運休しています", en: "Typhoon No. 10: all trams and city buses are suspended",
      "zh-Hans": "因10号台风，市电车和市巴士全线停运", "zh-Hant": "因10號颱風，市電車和市巴士全線停駛", ko: "태풍 10호로 노면전차와 시내버스가 전면 운휴합니다" },
    description: { ja: "運転再開は決まり次第お知らせします。", en: "We will announce when service resumes." },
    entities: [{ agency_id: "kagoshima-kotsu" }] } });
  assert.equal(typhoon.status(), 200, await typhoon.text());
  await page.goto(`${BASE}/?stop=${STOP}&lang=en`);
  await page.locator("#arrivals .alert-no_service", { hasText: "Typhoon No. 10" }).waitFor({ timeout: 20000 });
  await until(async () => (await page.locator("#arrivals li[data-trip]").count()) === 0, 20000, "an empty board");
  assert.match(await page.innerText("#arrivals"), /No service/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the English page is wider than the screen by ${overflow}px`);
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, "passenger-typhoon.png"), fullPage: true });
  await sign.locator("#rows li.empty", { hasText: /台風10号|Typhoon No\. 10/ }).waitFor({ timeout: 20000 });
  assert.equal(await sign.locator("#rows li[data-trip]").count(), 0);
  await sign.locator("#rows li.empty", { hasText: "台風10号" }).waitFor({ timeout: 12000 });
  if (SHOTS) await sign.screenshot({ path: join(SHOT_DIR, "signage-typhoon.png") });

  // Ended from the dashboard's list: gone from the page and the sign.
  await dash.reload();
  await dash.locator("#alerts button[data-end]").first().waitFor();
  while (await dash.locator("#alerts button[data-end]").count() > 0) {
    const before = await dash.locator("#alerts button[data-end]").count();
    await dash.locator("#alerts button[data-end]").first().click();
    await until(async () => (await dash.locator("#alerts button[data-end]").count()) < before, 10000, "the alert to end");
  }
  await page.goto(`${BASE}/?stop=${STOP}&lang=en`);
  await page.locator("#arrivals li[data-trip]").first().waitFor({ timeout: 20000 });
  assert.equal(await page.locator("#arrivals .alert").count(), 0);
  await until(async () => !(await sign.isVisible("#alert")), 20000, "the sign's alert line to go");
  await sign.locator("#rows li[data-trip]").first().waitFor({ timeout: 20000 });
  for (const p of [dash, page, sign]) await p.close();
});
