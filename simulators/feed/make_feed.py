#!/usr/bin/env python3
"""Generate the sample GTFS-JP feed for Kagoshima (trams, city buses, あいばす).

Standard library only (Python 3.11). Deterministic: running it again rewrites
./kagoshima/*.txt byte for byte. See README.md next to this file.

    python3 simulators/feed/make_feed.py            # writes simulators/feed/kagoshima/
    python3 simulators/feed/make_feed.py --out DIR  # writes somewhere else

The network is SAMPLE data built from public facts (stop order, a few known
coordinates); most coordinates, all timetables and the bus/あいばす routes are
invented but plausible. Do not present it as the bureau's official timetable.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import zlib
from pathlib import Path

EARTH_R = 6371000.0  # metres, used for every distance in the feed
FEED_START = dt.date(2024, 4, 1)
FEED_END = dt.date(2027, 3, 31)
FEED_VERSION = "2024.04.01-sample.1"
LANGS = ("ja", "ja-Hrkt", "en", "zh-Hans", "zh-Hant", "ko")

# ---------------------------------------------------------------------------
# Names: ja -> (ja-Hrkt, en, zh-Hans, zh-Hant, ko)
# Proper names are transliterated (Hepburn for en, 외래어 표기법 for ko);
# generic parts are translated (駅前 -> 站前 / 역 앞, 病院 -> 医院 / 병원 ...).
# ---------------------------------------------------------------------------
NAMES: dict[str, tuple[str, str, str, str, str]] = {
    # tram line 1
    "鹿児島駅前": ("かごしまえきまえ", "Kagoshima-ekimae", "鹿儿岛站前", "鹿兒島站前", "가고시마역 앞"),
    "桜島桟橋通": ("さくらじまさんばしどおり", "Sakurajima-sambashi-dori", "樱岛栈桥通", "櫻島棧橋通", "사쿠라지마산바시도리"),
    "水族館口": ("すいぞくかんぐち", "Suizokukan-guchi", "水族馆口", "水族館口", "수족관 입구"),
    "市役所前": ("しやくしょまえ", "Shiyakusho-mae", "市役所前", "市役所前", "시청 앞"),
    "朝日通": ("あさひどおり", "Asahi-dori", "朝日通", "朝日通", "아사히도리"),
    "いづろ通": ("いづろどおり", "Izuro-dori", "石灯笼通", "石燈籠通", "이즈로도리"),
    "天文館通": ("てんもんかんどおり", "Tenmonkan-dori", "天文馆通", "天文館通", "덴몬칸도리"),
    "高見馬場": ("たかみばば", "Takamibaba", "高见马场", "高見馬場", "다카미바바"),
    "甲東中学校前": ("こうとうちゅうがっこうまえ", "Koto-chugakko-mae", "甲东中学前", "甲東中學前", "고토 중학교 앞"),
    "新屋敷": ("しんやしき", "Shin-yashiki", "新屋敷", "新屋敷", "신야시키"),
    "武之橋": ("たけのはし", "Takenohashi", "武之桥", "武之橋", "다케노하시"),
    "二中通": ("にちゅうどおり", "Nichu-dori", "二中通", "二中通", "니추도리"),
    "荒田八幡": ("あらたはちまん", "Arata-hachiman", "荒田八幡", "荒田八幡", "아라타하치만"),
    "騎射場": ("きしゃば", "Kishaba", "骑射场", "騎射場", "기샤바"),
    "鴨池": ("かもいけ", "Kamoike", "鸭池", "鴨池", "가모이케"),
    "郡元": ("こおりもと", "Korimoto", "郡元", "郡元", "고리모토"),
    "郡元(南側)": ("こおりもと(みなみがわ)", "Korimoto (South)", "郡元(南侧)", "郡元(南側)", "고리모토(남쪽)"),
    "涙橋": ("なみだばし", "Namidabashi", "泪桥", "淚橋", "나미다바시"),
    "南鹿児島駅前": ("みなみかごしまえきまえ", "Minami-Kagoshima-ekimae", "南鹿儿岛站前", "南鹿兒島站前", "미나미가고시마역 앞"),
    "二軒茶屋": ("にけんぢゃや", "Nikenchaya", "二轩茶屋", "二軒茶屋", "니켄자야"),
    "宇宿一丁目": ("うすきいっちょうめ", "Usuki-itchome", "宇宿一丁目", "宇宿一丁目", "우스키 1초메"),
    "脇田": ("わきた", "Wakita", "胁田", "脇田", "와키타"),
    "笹貫": ("ささぬき", "Sasanuki", "笹贯", "笹貫", "사사누키"),
    "上塩屋": ("かみしおや", "Kami-shioya", "上盐屋", "上鹽屋", "가미시오야"),
    "谷山": ("たにやま", "Taniyama", "谷山", "谷山", "다니야마"),
    # tram line 2 branch
    "加治屋町": ("かじやちょう", "Kajiyacho", "加治屋町", "加治屋町", "가지야초"),
    "高見橋": ("たかみばし", "Takamibashi", "高见桥", "高見橋", "다카미바시"),
    "鹿児島中央駅前": ("かごしまちゅうおうえきまえ", "Kagoshima-Chuo-ekimae", "鹿儿岛中央站前", "鹿兒島中央站前", "가고시마추오역 앞"),
    "都通": ("みやこどおり", "Miyako-dori", "都通", "都通", "미야코도리"),
    "中洲通": ("なかすどおり", "Nakasu-dori", "中洲通", "中洲通", "나카스도리"),
    "市立病院前": ("しりつびょういんまえ", "Shiritsu-byoin-mae", "市立医院前", "市立醫院前", "시립병원 앞"),
    "神田(交通局前)": ("かんだ(こうつうきょくまえ)", "Kanda (Kotsukyoku-mae)", "神田(交通局前)", "神田(交通局前)", "간다(교통국 앞)"),
    "唐湊": ("とそ", "Toso", "唐凑", "唐湊", "도소"),
    "工学部前": ("こうがくぶまえ", "Kogakubu-mae", "工学部前", "工學部前", "공학부 앞"),
    "純心学園前": ("じゅんしんがくえんまえ", "Junshin-gakuen-mae", "纯心学园前", "純心學園前", "준신학원 앞"),
    "中郡": ("なかごおり", "Nakagori", "中郡", "中郡", "나카고리"),
    # city bus
    "天文館": ("てんもんかん", "Tenmonkan", "天文馆", "天文館", "덴몬칸"),
    "鹿児島中央駅": ("かごしまちゅうおうえき", "Kagoshima-Chuo Station", "鹿儿岛中央站", "鹿兒島中央站", "가고시마추오역"),
    "西田本通": ("にしだほんどおり", "Nishida-hondori", "西田本通", "西田本通", "니시다혼도리"),
    "常盤": ("ときわ", "Tokiwa", "常盘", "常盤", "도키와"),
    "武岡入口": ("たけおかいりぐち", "Takeoka-iriguchi", "武冈入口", "武岡入口", "다케오카 입구"),
    "武岡三丁目": ("たけおかさんちょうめ", "Takeoka-sanchome", "武冈三丁目", "武岡三丁目", "다케오카 3초메"),
    "武岡団地": ("たけおかだんち", "Takeoka-danchi", "武冈住宅区", "武岡住宅區", "다케오카 단지"),
    "照国神社前": ("てるくにじんじゃまえ", "Terukuni-jinja-mae", "照国神社前", "照國神社前", "데루쿠니 신사 앞"),
    "薩摩義士碑前": ("さつまぎしひまえ", "Satsuma-gishihi-mae", "萨摩义士碑前", "薩摩義士碑前", "사쓰마 의사비 앞"),
    "城山": ("しろやま", "Shiroyama", "城山", "城山", "시로야마"),
    "城山団地": ("しろやまだんち", "Shiroyama-danchi", "城山住宅区", "城山住宅區", "시로야마 단지"),
    "山之口町": ("やまのくちちょう", "Yamanokuchicho", "山之口町", "山之口町", "야마노쿠치초"),
    "天保山": ("てんぽざん", "Tempozan", "天保山", "天保山", "덴포잔"),
    "与次郎": ("よじろう", "Yojiro", "与次郎", "與次郎", "요지로"),
    "鴨池新町": ("かもいけしんまち", "Kamoike-shimmachi", "鸭池新町", "鴨池新町", "가모이케신마치"),
    "鴨池港": ("かもいけこう", "Kamoike Port", "鸭池港", "鴨池港", "가모이케항"),
    "新照院": ("しんしょういん", "Shinshoin", "新照院", "新照院", "신쇼인"),
    "草牟田": ("そうむた", "Somuta", "草牟田", "草牟田", "소무타"),
    "護国神社前": ("ごこくじんじゃまえ", "Gokoku-jinja-mae", "护国神社前", "護國神社前", "고코쿠 신사 앞"),
    "下伊敷": ("しもいしき", "Shimo-ishiki", "下伊敷", "下伊敷", "시모이시키"),
    "伊敷": ("いしき", "Ishiki", "伊敷", "伊敷", "이시키"),
    # あいばす 伊敷台 loop
    "伊敷小学校前": ("いしきしょうがっこうまえ", "Ishiki-shogakko-mae", "伊敷小学前", "伊敷小學前", "이시키 초등학교 앞"),
    "伊敷台入口": ("いしきだいいりぐち", "Ishikidai-iriguchi", "伊敷台入口", "伊敷台入口", "이시키다이 입구"),
    "伊敷台二丁目": ("いしきだいにちょうめ", "Ishikidai-nichome", "伊敷台二丁目", "伊敷台二丁目", "이시키다이 2초메"),
    "伊敷台四丁目": ("いしきだいよんちょうめ", "Ishikidai-yonchome", "伊敷台四丁目", "伊敷台四丁目", "이시키다이 4초메"),
    "伊敷台六丁目": ("いしきだいろくちょうめ", "Ishikidai-rokuchome", "伊敷台六丁目", "伊敷台六丁目", "이시키다이 6초메"),
    "伊敷台七丁目": ("いしきだいななちょうめ", "Ishikidai-nanachome", "伊敷台七丁目", "伊敷台七丁目", "이시키다이 7초메"),
    "伊敷支所前": ("いしきししょまえ", "Ishiki-shisho-mae", "伊敷支所前", "伊敷支所前", "이시키 지소 앞"),
    # headsign only
    "伊敷台循環": ("いしきだいじゅんかん", "Ishikidai Loop", "伊敷台循环", "伊敷台循環", "이시키다이 순환"),
    # agencies
    "鹿児島市交通局": ("かごしましこうつうきょく", "Kagoshima City Transportation Bureau", "鹿儿岛市交通局", "鹿兒島市交通局", "가고시마시 교통국"),
    "鹿児島市交通政策課": ("かごしましこうつうせいさくか", "Kagoshima City Transportation Policy Division", "鹿儿岛市交通政策课", "鹿兒島市交通政策課", "가고시마시 교통정책과"),
    # route short names
    "1系統": ("いちけいとう", "Line 1", "1系统", "1系統", "1계통"),
    "2系統": ("にけいとう", "Line 2", "2系统", "2系統", "2계통"),
    "11番線": ("じゅういちばんせん", "Route 11", "11路", "11路", "11번 노선"),
    "12番線": ("じゅうにばんせん", "Route 12", "12路", "12路", "12번 노선"),
    "13番線": ("じゅうさんばんせん", "Route 13", "13路", "13路", "13번 노선"),
    "14番線": ("じゅうよんばんせん", "Route 14", "14路", "14路", "14번 노선"),
    "あいばす": ("あいばす", "Aibus", "爱巴士", "愛巴士", "아이버스"),
}

# separators used when a route long name is composed from stop names
LONG_SEP = {"ja": "～", "ja-Hrkt": "～", "en": " - ", "zh-Hans": "—", "zh-Hant": "—", "ko": "~"}


def tr(ja: str) -> dict[str, str]:
    """All six language forms of a Japanese name."""
    hrkt, en, hans, hant, ko = NAMES[ja]
    return {"ja": ja, "ja-Hrkt": hrkt, "en": en, "zh-Hans": hans, "zh-Hant": hant, "ko": ko}


# ---------------------------------------------------------------------------
# Stops: stop_id -> (ja name, lat, lon)
# Known coordinates (network-facts.md) are used exactly: 天文館通, 高見馬場,
# 市役所前, 郡元, 谷山. Everything else is placed plausibly along the line.
# ---------------------------------------------------------------------------
STOPS: dict[str, tuple[str, float, float]] = {
    # tram, line 1 order
    "tram_kagoshima_ekimae": ("鹿児島駅前", 31.60100, 130.56200),
    "tram_sakurajima_sambashi_dori": ("桜島桟橋通", 31.59930, 130.56115),
    "tram_suizokukan_guchi": ("水族館口", 31.59775, 130.56010),
    "tram_shiyakusho_mae": ("市役所前", 31.59679, 130.55791),
    "tram_asahi_dori": ("朝日通", 31.59480, 130.55730),
    "tram_izuro_dori": ("いづろ通", 31.59270, 130.55660),
    "tram_tenmonkan_dori": ("天文館通", 31.59071, 130.55530),
    "tram_takamibaba": ("高見馬場", 31.58743, 130.54844),
    "tram_koto_chugakko_mae": ("甲東中学校前", 31.58470, 130.54960),
    "tram_shin_yashiki": ("新屋敷", 31.58190, 130.55100),
    "tram_takenohashi": ("武之橋", 31.57900, 130.55200),
    "tram_nichu_dori": ("二中通", 31.57600, 130.55140),
    "tram_arata_hachiman": ("荒田八幡", 31.57290, 130.55060),
    "tram_kishaba": ("騎射場", 31.56970, 130.54990),
    "tram_kamoike": ("鴨池", 31.56640, 130.54960),
    "tram_korimoto": ("郡元", 31.56301, 130.54942),
    "tram_korimoto_minamigawa": ("郡元(南側)", 31.56185, 130.54905),
    "tram_namidabashi": ("涙橋", 31.55900, 130.54550),
    "tram_minami_kagoshima_ekimae": ("南鹿児島駅前", 31.55610, 130.54150),
    "tram_nikenchaya": ("二軒茶屋", 31.55240, 130.53880),
    "tram_usuki_itchome": ("宇宿一丁目", 31.54880, 130.53640),
    "tram_wakita": ("脇田", 31.54470, 130.53380),
    "tram_sasanuki": ("笹貫", 31.54060, 130.53120),
    "tram_kami_shioya": ("上塩屋", 31.53540, 130.52750),
    "tram_taniyama": ("谷山", 31.53011, 130.52341),
    # tram, line 2 branch
    "tram_kajiyacho": ("加治屋町", 31.58630, 130.54600),
    "tram_takamibashi": ("高見橋", 31.58520, 130.54400),
    "tram_kagoshima_chuo_ekimae": ("鹿児島中央駅前", 31.58380, 130.54210),
    "tram_miyako_dori": ("都通", 31.58100, 130.54120),
    "tram_nakasu_dori": ("中洲通", 31.57820, 130.54050),
    "tram_shiritsu_byoin_mae": ("市立病院前", 31.57530, 130.54000),
    "tram_kanda": ("神田(交通局前)", 31.57240, 130.53970),
    "tram_toso": ("唐湊", 31.56960, 130.54050),
    "tram_kogakubu_mae": ("工学部前", 31.56740, 130.54250),
    "tram_junshin_gakuen_mae": ("純心学園前", 31.56570, 130.54480),
    "tram_nakagori": ("中郡", 31.56440, 130.54710),
    # city bus (own ids even where the name matches a tram stop)
    "bus_shiyakusho_mae": ("市役所前", 31.59630, 130.55740),
    "bus_tenmonkan": ("天文館", 31.59020, 130.55470),
    "bus_takamibaba": ("高見馬場", 31.58770, 130.54900),
    "bus_kajiyacho": ("加治屋町", 31.58660, 130.54630),
    "bus_kagoshima_chuo_eki": ("鹿児島中央駅", 31.58430, 130.54300),
    "bus_nishida_hondori": ("西田本通", 31.58360, 130.53850),
    "bus_tokiwa": ("常盤", 31.58260, 130.53320),
    "bus_takeoka_iriguchi": ("武岡入口", 31.58100, 130.52840),
    "bus_takeoka_3chome": ("武岡三丁目", 31.57890, 130.52370),
    "bus_takeoka_danchi": ("武岡団地", 31.57660, 130.51920),
    "bus_terukuni_jinja_mae": ("照国神社前", 31.59440, 130.55280),
    "bus_satsuma_gishihi_mae": ("薩摩義士碑前", 31.59570, 130.55110),
    "bus_shiroyama": ("城山", 31.59710, 130.54860),
    "bus_shiroyama_danchi": ("城山団地", 31.60380, 130.54660),
    "bus_yamanokuchicho": ("山之口町", 31.58680, 130.55360),
    "bus_shin_yashiki": ("新屋敷", 31.58230, 130.55210),
    "bus_takenohashi": ("武之橋", 31.57920, 130.55320),
    "bus_tempozan": ("天保山", 31.57520, 130.55660),
    "bus_yojiro": ("与次郎", 31.57030, 130.56030),
    "bus_kamoike_shimmachi": ("鴨池新町", 31.56580, 130.56120),
    "bus_kamoike_ko": ("鴨池港", 31.56400, 130.56500),
    "bus_shinshoin": ("新照院", 31.59880, 130.54720),
    "bus_somuta": ("草牟田", 31.60310, 130.54210),
    "bus_gokoku_jinja_mae": ("護国神社前", 31.60620, 130.53920),
    "bus_shimo_ishiki": ("下伊敷", 31.61280, 130.53340),
    "bus_ishiki": ("伊敷", 31.62030, 130.52630),
    # あいばす (the loop starts and ends at the city-bus stop bus_ishiki)
    "aibus_ishiki_shogakko_mae": ("伊敷小学校前", 31.61930, 130.52310),
    "aibus_ishikidai_iriguchi": ("伊敷台入口", 31.61760, 130.52040),
    "aibus_ishikidai_2chome": ("伊敷台二丁目", 31.61580, 130.51760),
    "aibus_ishikidai_4chome": ("伊敷台四丁目", 31.61370, 130.51500),
    "aibus_ishikidai_6chome": ("伊敷台六丁目", 31.61630, 130.51240),
    "aibus_ishikidai_7chome": ("伊敷台七丁目", 31.61930, 130.51430),
    "aibus_ishiki_shisho_mae": ("伊敷支所前", 31.62120, 130.52050),
}

# ---------------------------------------------------------------------------
# Routes. "path" lists stop ids (the trip's stops, in direction 0 order) and
# (lat, lon) tuples (shape-only bend points). Direction 1 is the reverse.
# ---------------------------------------------------------------------------
LINE1_PATH = [
    "tram_kagoshima_ekimae", "tram_sakurajima_sambashi_dori", "tram_suizokukan_guchi",
    (31.59715, 130.55930), "tram_shiyakusho_mae", "tram_asahi_dori", "tram_izuro_dori",
    "tram_tenmonkan_dori", (31.58930, 130.55240), "tram_takamibaba", "tram_koto_chugakko_mae",
    "tram_shin_yashiki", "tram_takenohashi", "tram_nichu_dori", "tram_arata_hachiman",
    "tram_kishaba", "tram_kamoike", "tram_korimoto", "tram_korimoto_minamigawa",
    "tram_namidabashi", "tram_minami_kagoshima_ekimae", "tram_nikenchaya", "tram_usuki_itchome",
    "tram_wakita", "tram_sasanuki", "tram_kami_shioya", "tram_taniyama",
]
_SHARED = LINE1_PATH[: LINE1_PATH.index("tram_takamibaba") + 1]
LINE2_PATH = _SHARED + [
    "tram_kajiyacho", "tram_takamibashi", "tram_kagoshima_chuo_ekimae", "tram_miyako_dori",
    "tram_nakasu_dori", "tram_shiritsu_byoin_mae", "tram_kanda", "tram_toso",
    "tram_kogakubu_mae", "tram_junshin_gakuen_mae", "tram_nakagori", "tram_korimoto",
]
_DOWNTOWN_BUS = ["bus_kagoshima_chuo_eki", "bus_kajiyacho", "bus_takamibaba", "bus_tenmonkan"]

# service windows: (first departure, last departure, headway) in minutes after midnight
WD, HD = "weekday", "holiday"
ROUTES = [
    dict(route_id="tram-1", code="T1", agency="kagoshima-kotsu", type=0, short="1系統",
         color="E60012", text="FFFFFF", path=LINE1_PATH, run_min=40, kind="tram",
         dwell={"tram_tenmonkan_dori": 20, "tram_takamibaba": 20, "tram_korimoto": 20},
         sched={WD: (6 * 60, 23 * 60, 7), HD: (6 * 60, 22 * 60 + 30, 10)}),
    dict(route_id="tram-2", code="T2", agency="kagoshima-kotsu", type=0, short="2系統",
         color="0068B7", text="FFFFFF", path=LINE2_PATH, run_min=35, kind="tram",
         long_via="鹿児島中央駅前",
         dwell={"tram_tenmonkan_dori": 20, "tram_takamibaba": 20, "tram_kagoshima_chuo_ekimae": 20},
         sched={WD: (6 * 60 + 3, 23 * 60, 7), HD: (6 * 60 + 5, 22 * 60 + 30, 10)}),
    dict(route_id="bus-11", code="B11", agency="kagoshima-kotsu", type=3, short="11番線",
         color="F6AA00", text="000000", kind="bus",
         path=["bus_shiyakusho_mae", "bus_tenmonkan", "bus_takamibaba", "bus_kajiyacho",
               "bus_kagoshima_chuo_eki", "bus_nishida_hondori", "bus_tokiwa", (31.58190, 130.53070),
               "bus_takeoka_iriguchi", (31.57990, 130.52560), "bus_takeoka_3chome",
               (31.57700, 130.52180), "bus_takeoka_danchi"],
         sched={WD: (6 * 60 + 30, 21 * 60 + 30, 15), HD: (7 * 60, 21 * 60, 30)}),
    dict(route_id="bus-12", code="B12", agency="kagoshima-kotsu", type=3, short="12番線",
         color="F6AA00", text="000000", kind="bus",
         path=_DOWNTOWN_BUS + ["bus_terukuni_jinja_mae", "bus_satsuma_gishihi_mae", "bus_shiroyama",
                               (31.59900, 130.54930), (31.60090, 130.54890), (31.60260, 130.54790),
                               "bus_shiroyama_danchi"],
         sched={WD: (7 * 60, 21 * 60, 15), HD: (7 * 60, 20 * 60, 20)}),
    dict(route_id="bus-13", code="B13", agency="kagoshima-kotsu", type=3, short="13番線",
         color="F6AA00", text="000000", kind="bus",
         path=_DOWNTOWN_BUS + ["bus_yamanokuchicho", "bus_shin_yashiki", "bus_takenohashi",
                               "bus_tempozan", "bus_yojiro", "bus_kamoike_shimmachi",
                               (31.56470, 130.56240), "bus_kamoike_ko"],
         sched={WD: (6 * 60 + 30, 21 * 60 + 30, 20), HD: (7 * 60, 21 * 60, 30)}),
    dict(route_id="bus-14", code="B14", agency="kagoshima-kotsu", type=3, short="14番線",
         color="F6AA00", text="000000", kind="bus",
         path=_DOWNTOWN_BUS + ["bus_terukuni_jinja_mae", "bus_satsuma_gishihi_mae", "bus_shinshoin",
                               "bus_somuta", "bus_gokoku_jinja_mae", (31.60950, 130.53680),
                               "bus_shimo_ishiki", "bus_ishiki"],
         sched={WD: (6 * 60 + 15, 21 * 60 + 30, 15), HD: (7 * 60, 21 * 60, 20)}),
    dict(route_id="aibus-ishikidai", code="AI", agency="kagoshima-aibus", type=3, short="あいばす",
         long="伊敷台循環", headsign="伊敷台循環", color="E4007F", text="FFFFFF", kind="aibus",
         loop=True,
         path=["bus_ishiki", "aibus_ishiki_shogakko_mae", "aibus_ishikidai_iriguchi",
               (31.61690, 130.51920), "aibus_ishikidai_2chome", "aibus_ishikidai_4chome",
               (31.61450, 130.51300), "aibus_ishikidai_6chome", "aibus_ishikidai_7chome",
               (31.62060, 130.51700), "aibus_ishiki_shisho_mae", (31.62150, 130.52380), "bus_ishiki"],
         sched={WD: (8 * 60, 18 * 60, 60), HD: (8 * 60, 18 * 60, 60)}),
]

AGENCIES = [
    dict(agency_id="kagoshima-kotsu", name="鹿児島市交通局", url="https://www.kotsu-city-kagoshima.jp/",
         official="鹿児島市交通局", zip="8900055", address="鹿児島県鹿児島市上荒田町37-20",
         fare_url="https://www.kotsu-city-kagoshima.jp/"),
    dict(agency_id="kagoshima-aibus", name="鹿児島市交通政策課", url="https://www.city.kagoshima.lg.jp/",
         official="鹿児島市 交通政策課（あいばす）", zip="8928677", address="鹿児島県鹿児島市山下町11-1",
         fare_url="https://www.city.kagoshima.lg.jp/"),
]

FARES = [  # fare_id, price, agency, transfers, routes
    ("tram_adult", 170, "kagoshima-kotsu", "1", ["tram-1", "tram-2"]),
    ("citybus_adult", 230, "kagoshima-kotsu", "0", ["bus-11", "bus-12", "bus-13", "bus-14"]),
    ("aibus_adult", 150, "kagoshima-aibus", "0", ["aibus-ishikidai"]),
]

# timing model -------------------------------------------------------------
TRAM_BASE_S = 25.0      # per-segment stop/start overhead
TRAM_DOWNTOWN_MPS = 4.0  # city-centre street running speed
TRAM_DOWNTOWN = set(_SHARED) | {"tram_kajiyacho", "tram_takamibashi", "tram_kagoshima_chuo_ekimae"}
BUS_BASE_S = 20.0
BUS_MPS = 5.0
BUS_DWELL = {"bus_tenmonkan": 30, "bus_kagoshima_chuo_eki": 30}
AIBUS_MPS = 4.0
MIN_LAYOVER_S, MAX_LAYOVER_S = 180, 600
ROUND_S = 5


# ---------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------
def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(h))


def segment_points(p: tuple[float, float], q: tuple[float, float]) -> list[tuple[float, float]]:
    """Points strictly between p and q: a gentle street-like curve.

    The geometry only depends on the unordered pair {p, q}, so segments shared
    by two routes (or the two directions of one route) coincide exactly.
    """
    a, b = (p, q) if p <= q else (q, p)
    d = haversine(a, b)
    n = max(1, int(d // 45))
    seed = zlib.crc32(f"{a[0]:.6f},{a[1]:.6f},{b[0]:.6f},{b[1]:.6f}".encode())
    sign = 1.0 if seed & 1 else -1.0
    amp = min(14.0, 0.05 * d) * (0.5 + 0.5 * ((seed >> 1) % 101) / 100.0)
    wave2 = 0.25 * (((seed >> 9) % 3) - 1)  # small S-bend component
    mlat = math.radians((a[0] + b[0]) / 2)
    k = math.pi / 180 * EARTH_R
    dx = (b[1] - a[1]) * k * math.cos(mlat)
    dy = (b[0] - a[0]) * k
    length = math.hypot(dx, dy) or 1.0
    px, py = -dy / length, dx / length
    pts = []
    for i in range(1, n + 1):
        f = i / (n + 1)
        off = sign * amp * (math.sin(math.pi * f) + wave2 * math.sin(2 * math.pi * f))
        lat = a[0] + f * (b[0] - a[0]) + off * py / k
        lon = a[1] + f * (b[1] - a[1]) + off * px / (k * math.cos(mlat))
        pts.append((round(lat, 6), round(lon, 6)))
    if (p, q) != (a, b):
        pts.reverse()
    return pts


def build_shape(path: list) -> tuple[list[tuple[float, float, float]], list[tuple[str, float]]]:
    """Return shape points (lat, lon, dist) and the trip's stops (stop_id, dist)."""
    way = []
    for w in path:
        if isinstance(w, str):
            _, lat, lon = STOPS[w]
            way.append(((lat, lon), w))
        else:
            way.append((w, None))
    pts: list[tuple[float, float]] = []
    stop_idx: list[tuple[str, int]] = []
    for i, (pt, sid) in enumerate(way):
        if i > 0:
            pts.extend(segment_points(way[i - 1][0], pt))
        if sid is not None:
            stop_idx.append((sid, len(pts)))
        pts.append(pt)
    dist = [0.0]
    for i in range(1, len(pts)):
        dist.append(dist[-1] + haversine(pts[i - 1], pts[i]))
    shape = [(la, lo, round(d, 1)) for (la, lo), d in zip(pts, dist)]
    stops = [(sid, round(dist[j], 1)) for sid, j in stop_idx]
    return shape, stops


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------
def _solve(fixed: float, var_dist: float, target: float) -> float:
    spare = target - fixed
    if spare <= 0 or var_dist <= 0:
        raise SystemExit(f"cannot fit run time: fixed {fixed:.0f}s > target {target:.0f}s")
    return var_dist / spare


def segment_times(route: dict, stops: list[tuple[str, float]], run_s: float,
                  shared: dict | None = None) -> list[float]:
    """Running time of each segment so the trip (with dwells) lasts run_s seconds."""
    segs = [(stops[i][0], stops[i + 1][0], stops[i + 1][1] - stops[i][1]) for i in range(len(stops) - 1)]
    dwell = sum(route_dwell(route, s, i, len(stops)) for i, (s, _) in enumerate(stops))
    if route["kind"] == "tram":
        fixed, var = dwell, 0.0
        for a, b, d in segs:
            if shared and (a, b) in shared:
                fixed += shared[(a, b)]
            elif a in TRAM_DOWNTOWN and b in TRAM_DOWNTOWN:
                fixed += TRAM_BASE_S + d / TRAM_DOWNTOWN_MPS
            else:
                fixed += TRAM_BASE_S
                var += d
        v = _solve(fixed, var, run_s)
        out = []
        for a, b, d in segs:
            if shared and (a, b) in shared:
                out.append(shared[(a, b)])
            elif a in TRAM_DOWNTOWN and b in TRAM_DOWNTOWN:
                out.append(TRAM_BASE_S + d / TRAM_DOWNTOWN_MPS)
            else:
                out.append(TRAM_BASE_S + d / v)
        return out
    base = BUS_BASE_S
    total_d = sum(d for _, _, d in segs)
    v = _solve(dwell + base * len(segs), total_d, run_s)
    return [base + d / v for _, _, d in segs]


def route_dwell(route: dict, stop_id: str, idx: int, n: int) -> int:
    if idx == 0 or idx == n - 1:
        return 0
    if route["kind"] == "tram":
        return route["dwell"].get(stop_id, 0)
    if route["kind"] == "bus":
        return BUS_DWELL.get(stop_id, 0)
    return 0


def natural_run_s(route: dict, stops: list[tuple[str, float]]) -> float:
    v = AIBUS_MPS if route["kind"] == "aibus" else BUS_MPS
    n = len(stops)
    t = sum(route_dwell(route, s, i, n) for i, (s, _) in enumerate(stops))
    return t + (n - 1) * BUS_BASE_S + stops[-1][1] / v


def stop_offsets(route, stops, seg_t) -> list[tuple[int, int]]:
    """(arrival, departure) offsets in seconds from the trip's first departure."""
    out = [(0, 0)]
    t = 0.0
    n = len(stops)
    for i in range(1, n):
        t += seg_t[i - 1]
        arr = int(round(t / ROUND_S)) * ROUND_S
        dw = route_dwell(route, stops[i][0], i, n)
        out.append((arr, arr + dw))
        t += dw
    return out


def hms(sec: int) -> str:
    return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"


# ---------------------------------------------------------------------------
# Japanese national holidays (国民の祝日に関する法律, as amended to 2018/2020)
# ---------------------------------------------------------------------------
def _nth_monday(y: int, m: int, n: int) -> dt.date:
    d = dt.date(y, m, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7 + 7 * (n - 1))


def _equinox_day(y: int, base: float) -> int:
    # standard approximation, valid 1980-2099
    return int(base + 0.242194 * (y - 1980) - (y - 1980) // 4)


def jp_holidays(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    if first.year < 2020 or last.year > 2099:
        raise SystemExit("holiday rules here are only valid for 2020-2099 (no special years)")
    national: dict[dt.date, str] = {}
    for y in range(first.year, last.year + 1):
        for d, name in [
            (dt.date(y, 1, 1), "元日"), (_nth_monday(y, 1, 2), "成人の日"),
            (dt.date(y, 2, 11), "建国記念の日"), (dt.date(y, 2, 23), "天皇誕生日"),
            (dt.date(y, 3, _equinox_day(y, 20.8431)), "春分の日"), (dt.date(y, 4, 29), "昭和の日"),
            (dt.date(y, 5, 3), "憲法記念日"), (dt.date(y, 5, 4), "みどりの日"),
            (dt.date(y, 5, 5), "こどもの日"), (_nth_monday(y, 7, 3), "海の日"),
            (dt.date(y, 8, 11), "山の日"), (_nth_monday(y, 9, 3), "敬老の日"),
            (dt.date(y, 9, _equinox_day(y, 23.2488)), "秋分の日"), (_nth_monday(y, 10, 2), "スポーツの日"),
            (dt.date(y, 11, 3), "文化の日"), (dt.date(y, 11, 23), "勤労感謝の日"),
        ]:
            national[d] = name
    hol = dict(national)
    one = dt.timedelta(days=1)
    # 国民の休日: a day (not itself a 祝日) between two 祝日
    for d in sorted(national):
        mid = d + one
        if mid not in national and mid + one in national:
            hol[mid] = "国民の休日"
    # 振替休日: a 祝日 on Sunday moves to the next day that is not a holiday
    for d in sorted(national):
        if d.weekday() == 6:
            s = d + one
            while s in hol:
                s += one
            hol[s] = "振替休日"
    return {d: n for d, n in sorted(hol.items()) if first <= d <= last}


def year_end_days(first: dt.date, last: dt.date) -> list[dt.date]:
    out = []
    d = first
    while d <= last:
        if (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3):
            out.append(d)
        d += dt.timedelta(days=1)
    return out


# ---------------------------------------------------------------------------
# timetable and blocks
# ---------------------------------------------------------------------------
def plan_route(route: dict) -> dict:
    """Shapes, stop lists and whole-minute run/layover times for one route."""
    dirs = [route["path"]] if route.get("loop") else [route["path"], list(reversed(route["path"]))]
    plan = {"dirs": []}
    for d, path in enumerate(dirs):
        shape, stops = build_shape(path)
        plan["dirs"].append({"shape": shape, "stops": stops, "shape_id": f"{route['route_id']}_{d}"})
    return plan


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "kagoshima")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    route_rows, trip_rows, st_rows, shape_rows = [], [], [], []
    headsigns: list[str] = []
    used_stops: list[str] = []
    stats = []
    shared_times: dict[tuple[str, str], float] = {}

    for route in ROUTES:
        plan = plan_route(route)
        first_stop = STOPS[route["path"][0]][0]
        last_stop = STOPS[[w for w in route["path"] if isinstance(w, str)][-1]][0]
        if route.get("loop"):
            long_ja = route["long"]
            long_tr = tr(long_ja)
        else:
            parts = [first_stop] + ([route["long_via"]] if route.get("long_via") else []) + [last_stop]
            long_tr = {lang: LONG_SEP[lang].join(tr(p)[lang] for p in parts) for lang in LANGS}
            long_ja = long_tr["ja"]
        route["long_tr"] = long_tr
        route_rows.append([route["route_id"], route["agency"], route["short"], long_ja, route["type"],
                           route["color"], route["text"]])

        # run times (seconds, whole minutes) per direction
        dirs = plan["dirs"]
        if route["kind"] == "tram":
            run = [route["run_min"] * 60] * len(dirs)
        else:
            run = [math.ceil(natural_run_s(route, d["stops"]) / 60) * 60 for d in dirs]
            run = [max(run)] * len(dirs)
        seg_t = []
        for di, d in enumerate(dirs):
            st = segment_times(route, d["stops"], run[di], shared_times if route["kind"] == "tram" else None)
            if route["kind"] == "tram":
                for i, t in enumerate(st):
                    shared_times.setdefault((d["stops"][i][0], d["stops"][i + 1][0]), t)
            seg_t.append(st)

        for svc, (first, last, head) in route["sched"].items():
            h = head * 60
            first, last = first * 60, last * 60
            if route.get("loop"):
                runs, lay = run, [h - run[0]]
                max_lay = h
                deps = [(0, t) for t in range(first, last + 1, h)]
            else:
                # total layover per cycle so the cycle is a whole number of headways
                pad = 0
                while True:
                    r_ab, r_ba = run[0] + pad, run[1] + pad
                    ltot = 2 * MIN_LAYOVER_S
                    while (r_ab + r_ba + ltot) % h:
                        ltot += 60
                    if ltot <= 2 * MAX_LAYOVER_S - 120:  # keep each end <= 9 min
                        break
                    pad += 60  # recovery time added to both directions
                runs = [r_ab, r_ba]
                lay_b = (ltot // 2) // 60 * 60
                lay = [lay_b, ltot - lay_b]  # at the dir-0 end, at the dir-1 end
                max_lay = MAX_LAYOVER_S
                off_b = (r_ab + lay_b) % h
                deps = [(0, t) for t in range(first, last + 1, h)]
                deps += [(1, t) for t in range(first + off_b, last + 1, h)]
            deps.sort(key=lambda x: (x[1], x[0]))
            if route["kind"] != "tram" and runs != run:
                segs = [segment_times(route, dirs[di]["stops"], runs[di]) for di in range(len(dirs))]
            else:
                segs = seg_t
            offsets = [stop_offsets(route, dirs[di]["stops"], segs[di]) for di in range(len(dirs))]

            vehicles: list[dict] = []  # at, free_at, block
            nblocks = 0
            svc_code = "WD" if svc == WD else "HD"
            for di, t0 in deps:
                dd = dirs[di]
                origin, dest = dd["stops"][0][0], dd["stops"][-1][0]
                best = None
                for v in vehicles:
                    wait = t0 - v["free_at"]
                    if v["at"] == origin and MIN_LAYOVER_S <= wait <= max_lay:
                        if best is None or v["free_at"] < best["free_at"]:
                            best = v
                if best is None:
                    nblocks += 1
                    best = {"block": f"{route['code']}-{svc_code}-{nblocks:02d}"}
                    vehicles.append(best)
                trip_id = f"{route['code']}-{svc_code}-{di}-{t0 // 3600:02d}{t0 % 3600 // 60:02d}"
                if route.get("loop"):
                    headsign = route["headsign"]
                else:
                    headsign = STOPS[dest][0]
                if headsign not in headsigns:
                    headsigns.append(headsign)
                trip_rows.append([route["route_id"], svc, trip_id, headsign, di, best["block"], dd["shape_id"]])
                for seq, ((sid, sdist), (a, b)) in enumerate(zip(dd["stops"], offsets[di]), start=1):
                    st_rows.append([trip_id, hms(t0 + a), hms(t0 + b), sid, seq, f"{sdist:.1f}"])
                best["at"], best["free_at"] = dest, t0 + offsets[di][-1][1]
            stats.append((route["route_id"], svc, len(deps), nblocks, [r // 60 for r in runs],
                          [x // 60 for x in lay]))

        for d in dirs:
            for seq, (la, lo, dist) in enumerate(d["shape"], start=1):
                shape_rows.append([d["shape_id"], f"{la:.6f}", f"{lo:.6f}", seq, f"{dist:.1f}"])
            for sid, _ in d["stops"]:
                if sid not in used_stops:
                    used_stops.append(sid)
        if route["kind"] == "tram":
            d0 = dirs[0]
            stats.append((route["route_id"], "length_m", round(d0["stops"][-1][1]),
                          {STOPS[s][0]: round(x) for s, x in d0["stops"]
                           if s in ("tram_korimoto", "tram_kagoshima_chuo_ekimae", "tram_takamibaba")}))

    # stops in a stable order: tram line 1, line 2 branch, buses, あいばす
    stop_order = [s for s in STOPS if s in used_stops]
    missing = [s for s in STOPS if s not in used_stops]
    if missing:
        raise SystemExit(f"stops not served by any route: {missing}")

    # ---- write files -----------------------------------------------------
    expected = {
        "agency.txt", "agency_jp.txt", "feed_info.txt", "stops.txt", "routes.txt", "trips.txt",
        "stop_times.txt", "shapes.txt", "calendar.txt", "calendar_dates.txt", "translations.txt",
        "fare_attributes.txt", "fare_rules.txt",
    }
    for old in out.glob("*.txt"):
        if old.name not in expected:
            old.unlink()

    write_csv(out / "agency.txt",
              ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_fare_url"],
              [[a["agency_id"], a["name"], a["url"], "Asia/Tokyo", "ja", a["fare_url"]] for a in AGENCIES])
    write_csv(out / "agency_jp.txt",
              ["agency_id", "agency_official_name", "agency_zip_number", "agency_address",
               "agency_president_pos", "agency_president_name"],
              [[a["agency_id"], a["official"], a["zip"], a["address"], "", ""] for a in AGENCIES])
    write_csv(out / "feed_info.txt",
              ["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date",
               "feed_version"],
              [["鹿児島市電・市バス・あいばす サンプルデータ", "https://www.kotsu-city-kagoshima.jp/", "ja",
                FEED_START.strftime("%Y%m%d"), FEED_END.strftime("%Y%m%d"), FEED_VERSION]])
    write_csv(out / "stops.txt",
              ["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station"],
              [[s, STOPS[s][0], f"{STOPS[s][1]:.5f}", f"{STOPS[s][2]:.5f}", 0, ""] for s in stop_order])
    write_csv(out / "routes.txt",
              ["route_id", "agency_id", "route_short_name", "route_long_name", "route_type", "route_color",
               "route_text_color"], route_rows)
    write_csv(out / "trips.txt",
              ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "block_id", "shape_id"],
              trip_rows)
    write_csv(out / "stop_times.txt",
              ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled"],
              st_rows)
    write_csv(out / "shapes.txt",
              ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
              shape_rows)

    ymd = lambda d: d.strftime("%Y%m%d")  # noqa: E731
    write_csv(out / "calendar.txt",
              ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
               "start_date", "end_date"],
              [[WD, 1, 1, 1, 1, 1, 0, 0, ymd(FEED_START), ymd(FEED_END)],
               [HD, 0, 0, 0, 0, 0, 1, 1, ymd(FEED_START), ymd(FEED_END)]])
    special = set(jp_holidays(FEED_START, FEED_END)) | set(year_end_days(FEED_START, FEED_END))
    cd_rows = []
    for d in sorted(special):
        if d.weekday() < 5:
            cd_rows.append([WD, ymd(d), 2])
            cd_rows.append([HD, ymd(d), 1])
    write_csv(out / "calendar_dates.txt", ["service_id", "date", "exception_type"], cd_rows)

    write_csv(out / "fare_attributes.txt",
              ["fare_id", "price", "currency_type", "payment_method", "transfers", "agency_id",
               "transfer_duration"],
              [[f, p, "JPY", 0, t, a, ""] for f, p, a, t, _ in FARES])
    write_csv(out / "fare_rules.txt", ["fare_id", "route_id", "origin_id", "destination_id", "contains_id"],
              [[f, r, "", "", ""] for f, _, _, _, routes in FARES for r in routes])

    # translations (GTFS-JP 2nd edition / GTFS translations.txt)
    tr_rows = []
    for name in dict.fromkeys(STOPS[s][0] for s in stop_order):
        for lang, text in tr(name).items():
            tr_rows.append(["stops", "stop_name", lang, text, "", "", name])
    for name in headsigns:
        for lang, text in tr(name).items():
            tr_rows.append(["trips", "trip_headsign", lang, text, "", "", name])
    for route in ROUTES:
        for lang, text in tr(route["short"]).items():
            tr_rows.append(["routes", "route_short_name", lang, text, route["route_id"], "", ""])
        for lang in LANGS:
            tr_rows.append(["routes", "route_long_name", lang, route["long_tr"][lang], route["route_id"], "", ""])
    for a in AGENCIES:
        for lang, text in tr(a["name"]).items():
            tr_rows.append(["agency", "agency_name", lang, text, a["agency_id"], "", ""])
    write_csv(out / "translations.txt",
              ["table_name", "field_name", "language", "translation", "record_id", "record_sub_id", "field_value"],
              tr_rows)

    for s in stats:
        print(*s)
    print(f"stops {len(stop_order)} routes {len(route_rows)} trips {len(trip_rows)} "
          f"stop_times {len(st_rows)} shape_points {len(shape_rows)} calendar_dates {len(cd_rows)}")


if __name__ == "__main__":
    main()
