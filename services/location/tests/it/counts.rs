use kagoshima_proto::v1::{GetStopRequest, SearchStopsRequest};

use crate::support::*;

#[tokio::test]
async fn stop_search_counts_add_up_to_the_searches_made() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    let mut returned = 0_i64;
    let mut aibus_results = 0_i64;
    let queries = [
        "天文館",
        "tenmonkan",
        "伊敷台",
        "かもいけ",
        "zzzz",
        "Kagoshima",
    ];
    for q in queries {
        let stops = client
            .search_stops(SearchStopsRequest {
                query: q.into(),
                lang: "ja".into(),
                limit: 5,
            })
            .await
            .expect("search")
            .into_inner()
            .stops;
        returned += stops.len() as i64;
        if stops
            .iter()
            .any(|s| s.routes.iter().any(|r| r.route_id == "aibus-ishikidai"))
        {
            aibus_results += 1;
        }
    }
    assert!(aibus_results >= 1, "伊敷台 finds あいばす stops");
    let db = &loc.db;
    assert_eq!(
        db.count("SELECT coalesce(sum(count), 0)::bigint FROM stop_search_counts")
            .await,
        returned
    );
    assert_eq!(
        db.count("SELECT coalesce(sum(searches), 0)::bigint FROM search_counts WHERE mode = 'all'")
            .await,
        queries.len() as i64
    );
    assert_eq!(
        db.count("SELECT coalesce(sum(searches), 0)::bigint FROM search_counts WHERE mode = 'community_bus'").await,
        aibus_results
    );
    // a stop lookup adds one for its stop
    client
        .get_stop(GetStopRequest {
            stop_id: "aibus_ishikidai_nichome".into(),
            lang: "en".into(),
        })
        .await
        .map(|_| ())
        .or_else(|e| {
            if e.code() == tonic::Code::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .expect("lookup");
    let before = db
        .count("SELECT coalesce(sum(count), 0)::bigint FROM stop_search_counts")
        .await;
    client
        .get_stop(GetStopRequest {
            stop_id: "tram_tenmonkan_dori".into(),
            lang: "en".into(),
        })
        .await
        .expect("lookup");
    assert_eq!(
        db.count("SELECT coalesce(sum(count), 0)::bigint FROM stop_search_counts")
            .await,
        before + 1
    );
    // no personal data: the tables have only day, stop or mode, and counts
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_name IN ('stop_search_counts', 'search_counts') ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("columns");
    assert_eq!(
        columns,
        ["count", "day", "day", "mode", "searches", "stop_id"]
    );
}
