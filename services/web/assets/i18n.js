// UI strings of the pages in the five languages of passenger information.
// Stop and route names come from the server in the language asked for.
"use strict";
const LANGS = ["ja", "en", "zh-Hans", "zh-Hant", "ko"];
const LANG_NAMES = { ja: "日本語", en: "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文", ko: "한국어" };
const STRINGS = {
  ja: {
    title: "鹿児島市 市電・バス 接近情報", language: "言語", nearby: "現在地の近くの停留所", metres: "{n} m", locating: "現在地を確認しています…", no_position: "現在地を取得できません。位置情報の利用を許可するか、停留所名で検索してください。", none_nearby: "800 m 以内に停留所はありません", timetable_h: "時刻表", date: "日付", holiday: "休日ダイヤ", no_departures_day: "この日の便はありません", favourites: "お気に入りの停留所", favourite_add: "☆ お気に入りに追加", favourite_remove: "★ お気に入りから外す", crowd_seats: "空席あり", crowd_few: "やや混雑", crowd_standing: "混雑", crowd_full: "大変混雑", step_free_yes: "♿ 段差なく乗車できます", step_free_no: "段差があります（車いすでの乗車はできません）", search_label: "停留所を探す",
    search_placeholder: "例: 天文館通、てんもんかん、Tenmonkan", search: "検索",
    results: "検索結果", no_results: "見つかりませんでした", arrivals: "まもなく到着",
    min: "{n}分", min_range: "{a}〜{b}分", now: "まもなく", platform: "{p}番のりば", every: "約{n}分間隔", stops_away: "{n}停留所前", stops_away_zero: "次に到着", no_live: "位置情報なし", detour: "迂回運行中",  alert_label: "運行情報", no_service: "運休中のため、接近情報はありません", crowd_usual: "ふだんは{c}", step_free_trip: "♿ 低床車両", no_arrivals: "90分以内の便はありません",
    scheduled: "時刻表", live: "リアルタイム", updated: "{t} 更新", map: "路線図",
    vehicles_unavailable: "車両の現在位置は準備中です", route: "系統", destination: "行先",
    tram: "市電", bus: "市バス", community_bus: "あいばす", error: "情報を取得できません。しばらくしてからお試しください。",
    choose_route: "路線", skip: "本文へ移動", signage_title: "接近情報", bound: "{h} 行き",
    vehicles: "{n}台運行中", stop: "停留所",
    map_desc: "{r}：{a}〜{b}、{n}停留所。■は運行中の車両（5秒ごとに更新）。", vehicle_item: "{v}：{h}、{s}付近", vehicle_list: "運行中の車両", vehicles_none: "運行中の車両はありません"
  },
  en: {
    title: "Kagoshima City Tram & Bus Arrivals", language: "Language", nearby: "Stops near me", metres: "{n} m", locating: "Finding where you are…", no_position: "Your position is not available. Allow location access, or search by stop name.", none_nearby: "No stop within 800 m", timetable_h: "Timetable", date: "Date", holiday: "Holiday timetable", no_departures_day: "No departures on this day", favourites: "Saved stops", favourite_add: "☆ Save this stop", favourite_remove: "★ Saved (tap to remove)", crowd_seats: "Seats available", crowd_few: "Few seats", crowd_standing: "Standing room only", crowd_full: "Very crowded", step_free_yes: "♿ Step-free boarding", step_free_no: "Not step-free (no wheelchair boarding)", search_label: "Find a stop",
    search_placeholder: "e.g. Tenmonkan-dori", search: "Search",
    results: "Results", no_results: "No stops found", arrivals: "Arriving soon",
    min: "{n} min", min_range: "{a}-{b} min", now: "Now", platform: "Platform {p}", every: "About every {n} min", stops_away: "{n} stops away", stops_away_zero: "Arriving next", stops_away_one: "1 stop away", no_live: "No live position", detour: "On a detour",  alert_label: "Service alert", no_service: "No service: see the notice above", crowd_usual: "Usually {c}", step_free_trip: "♿ Step-free vehicle", no_arrivals: "No departures in the next 90 minutes",
    scheduled: "Scheduled", live: "Live", updated: "Updated {t}", map: "Route map",
    vehicles_unavailable: "Live vehicle positions are coming soon", route: "Route", destination: "To",
    tram: "Tram", bus: "City bus", community_bus: "Community bus (Aibus)", error: "Information is not available. Please try again shortly.",
    choose_route: "Route", skip: "Skip to content", signage_title: "Arrivals", bound: "for {h}",
    vehicles: "{n} in service", stop: "Stop",
    map_desc: "{r}: {a} to {b}, {n} stops. Squares are vehicles in service (updated every 5 s).", vehicle_item: "{v}: {h}, near {s}", vehicle_list: "Vehicles in service", vehicles_none: "No vehicles in service"
  },
  "zh-Hans": {
    title: "鹿儿岛市 有轨电车・公交 到站信息", language: "语言", nearby: "附近的车站", metres: "{n} 米", locating: "正在确定您的位置…", no_position: "无法获取您的位置。请允许定位，或按车站名搜索。", none_nearby: "800 米内没有车站", timetable_h: "时刻表", date: "日期", holiday: "节假日时刻", no_departures_day: "当天没有班次", favourites: "收藏的车站", favourite_add: "☆ 收藏此站", favourite_remove: "★ 已收藏（点击取消）", crowd_seats: "有空座", crowd_few: "座位较少", crowd_standing: "仅剩站位", crowd_full: "非常拥挤", step_free_yes: "♿ 可无障碍乘车", step_free_no: "有台阶（轮椅无法乘车）", search_label: "查找车站",
    search_placeholder: "例如：天文馆通", search: "搜索",
    results: "搜索结果", no_results: "未找到车站", arrivals: "即将到站",
    min: "{n}分钟", min_range: "{a}-{b}分钟", now: "即将到站", platform: "{p}号站台", every: "约每{n}分钟一班", stops_away: "还有{n}站", stops_away_zero: "下一站到达", no_live: "无实时位置", detour: "绕行中",  alert_label: "运行信息", no_service: "停运中，暂无到站信息", crowd_usual: "通常{c}", step_free_trip: "♿ 低地板车辆", no_arrivals: "90分钟内没有班次",
    scheduled: "时刻表", live: "实时", updated: "{t} 更新", map: "线路图",
    vehicles_unavailable: "车辆实时位置即将推出", route: "线路", destination: "开往",
    tram: "有轨电车", bus: "市营公交", community_bus: "社区巴士", error: "无法获取信息，请稍后再试。",
    choose_route: "线路", skip: "跳到正文", signage_title: "到站信息", bound: "开往{h}",
    vehicles: "{n}辆运行中", stop: "车站",
    map_desc: "{r}：{a}至{b}，共{n}站。方块为运行中的车辆（每5秒更新）。", vehicle_item: "{v}：{h}，{s}附近", vehicle_list: "运行中的车辆", vehicles_none: "没有运行中的车辆"
  },
  "zh-Hant": {
    title: "鹿兒島市 路面電車・公車 到站資訊", language: "語言", nearby: "附近的車站", metres: "{n} 公尺", locating: "正在確認您的位置…", no_position: "無法取得您的位置。請允許定位，或以車站名稱搜尋。", none_nearby: "800 公尺內沒有車站", timetable_h: "時刻表", date: "日期", holiday: "假日時刻", no_departures_day: "當天沒有班次", favourites: "收藏的車站", favourite_add: "☆ 收藏此站", favourite_remove: "★ 已收藏（點擊取消）", crowd_seats: "有空位", crowd_few: "座位較少", crowd_standing: "僅剩站位", crowd_full: "非常擁擠", step_free_yes: "♿ 可無障礙乘車", step_free_no: "有台階（輪椅無法乘車）", search_label: "查詢車站",
    search_placeholder: "例如：天文館通", search: "搜尋",
    results: "搜尋結果", no_results: "找不到車站", arrivals: "即將到站",
    min: "{n}分鐘", min_range: "{a}-{b}分鐘", now: "即將到站", platform: "{p}號乘車處", every: "約每{n}分鐘一班", stops_away: "還有{n}站", stops_away_zero: "下一站到達", no_live: "無即時位置", detour: "繞行中",  alert_label: "運行資訊", no_service: "停駛中，暫無到站資訊", crowd_usual: "通常{c}", step_free_trip: "♿ 低底盤車輛", no_arrivals: "90分鐘內沒有班次",
    scheduled: "時刻表", live: "即時", updated: "{t} 更新", map: "路線圖",
    vehicles_unavailable: "車輛即時位置即將推出", route: "路線", destination: "開往",
    tram: "路面電車", bus: "市營公車", community_bus: "社區巴士", error: "無法取得資訊，請稍後再試。",
    choose_route: "路線", skip: "跳到主要內容", signage_title: "到站資訊", bound: "開往{h}",
    vehicles: "{n}輛運行中", stop: "車站",
    map_desc: "{r}：{a}至{b}，共{n}站。方塊為運行中的車輛（每5秒更新）。", vehicle_item: "{v}：{h}，{s}附近", vehicle_list: "運行中的車輛", vehicles_none: "沒有運行中的車輛"
  },
  ko: {
    title: "가고시마시 노면전차・버스 도착 정보", language: "언어", nearby: "내 주변 정류장", metres: "{n}m", locating: "현재 위치를 확인하는 중…", no_position: "현재 위치를 가져올 수 없습니다. 위치 접근을 허용하거나 정류장 이름으로 검색하세요.", none_nearby: "800m 이내에 정류장이 없습니다", timetable_h: "시간표", date: "날짜", holiday: "휴일 시간표", no_departures_day: "이 날은 운행이 없습니다", favourites: "즐겨찾는 정류장", favourite_add: "☆ 즐겨찾기 추가", favourite_remove: "★ 즐겨찾기됨 (눌러서 해제)", crowd_seats: "좌석 여유", crowd_few: "좌석 적음", crowd_standing: "입석만 가능", crowd_full: "매우 혼잡", step_free_yes: "♿ 휠체어 승차 가능", step_free_no: "단차 있음 (휠체어 승차 불가)", search_label: "정류장 검색",
    search_placeholder: "예: 덴몬칸도리", search: "검색",
    results: "검색 결과", no_results: "정류장을 찾을 수 없습니다", arrivals: "곧 도착",
    min: "{n}분", min_range: "{a}~{b}분", now: "곧 도착", platform: "{p}번 승강장", every: "약 {n}분 간격", stops_away: "{n}정류장 전", stops_away_zero: "다음 도착", no_live: "실시간 위치 없음", detour: "우회 운행 중",  alert_label: "운행 정보", no_service: "운휴 중이라 도착 정보가 없습니다", crowd_usual: "평소 {c}", step_free_trip: "♿ 저상 차량", no_arrivals: "90분 이내 운행 없음",
    scheduled: "시간표", live: "실시간", updated: "{t} 갱신", map: "노선도",
    vehicles_unavailable: "차량 실시간 위치는 준비 중입니다", route: "노선", destination: "행선지",
    tram: "노면전차", bus: "시영 버스", community_bus: "커뮤니티 버스", error: "정보를 가져올 수 없습니다. 잠시 후 다시 시도하세요.",
    choose_route: "노선", skip: "본문으로 이동", signage_title: "도착 정보", bound: "{h} 행",
    vehicles: "{n}대 운행 중", stop: "정류장",
    map_desc: "{r}: {a}~{b}, {n}개 정류장. 사각형은 운행 중인 차량(5초마다 갱신).", vehicle_item: "{v}: {h}, {s} 부근", vehicle_list: "운행 중인 차량", vehicles_none: "운행 중인 차량이 없습니다"
  }
};
// `{n}` of 0 or 1 takes the `_zero` or `_one` form where a language has one
// ("Arriving next", "1 stop away").
function t(lang, key, vars) {
  const table = STRINGS[lang] || STRINGS.ja;
  const n = vars ? Number(vars.n) : NaN;
  const counted = n === 0 ? table[key + "_zero"] : n === 1 ? table[key + "_one"] : undefined;
  let s = counted ?? table[key] ?? STRINGS.ja[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}
// Fills every [data-i18n] element (and [data-i18n-placeholder]) of the page.
function applyStrings(lang) {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach(el => { el.textContent = t(lang, el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach(el => { el.placeholder = t(lang, el.dataset.i18nPlaceholder); });
}
// A small element helper: el("li", {class: "x", lang: "en"}, "text", child).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// What kind of row an arrival is, in words: live, from the timetable, or a
// known vehicle without live data (stale) or off its route (detour).
function arrivalNote(lang, x) {
  if (x.realtime) return t(lang, "live");
  if (x.status === "stale") return `${t(lang, "scheduled")} · ${t(lang, "no_live")}`;
  if (x.status === "detour") return `${t(lang, "scheduled")} · ${t(lang, "detour")}`;
  return t(lang, "scheduled");
}

// How full the vehicle is, in words and a level (0-3) for its style; null
// when unknown.
// How full a vehicle is now, or (usual) how full this trip usually is here.
function crowding(lang, occupancy, usual = null) {
  const level = { empty: 0, many_seats_available: 0, few_seats_available: 1, standing_room_only: 2,
    crushed_standing_room_only: 3, full: 3 }[occupancy || usual];
  if (level === undefined) return null;
  const words = t(lang, ["crowd_seats", "crowd_few", "crowd_standing", "crowd_full"][level]);
  const meter = el("span", { "aria-hidden": "true" }, (occupancy ? "■" : "▪").repeat(level + 1) + "□".repeat(3 - level) + " ");
  return occupancy
    ? el("span", { class: `crowd crowd-${level}`, "data-occupancy": occupancy }, meter, words)
    : el("span", { class: `crowd crowd-usual crowd-${level}`, "data-usual-occupancy": usual }, meter, t(lang, "crowd_usual", { c: words }));
}
