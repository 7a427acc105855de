use kagoshima_proto::v1::GetRouteShapeRequest;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn route_shape_has_points_and_stops_in_order() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    let shape = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-1".into(),
            lang: "en".into(),
            direction_id: None,
        })
        .await
        .expect("shape")
        .into_inner();
    let route = shape.route.expect("route");
    assert_eq!(route.route_id, "tram-1");
    assert_eq!(route.color, "E60012");
    assert_eq!(
        shape
            .directions
            .iter()
            .map(|d| d.direction_id)
            .collect::<Vec<_>>(),
        [0, 1]
    );
    for d in &shape.directions {
        assert!(
            d.points.len() >= 2,
            "direction {} has no shape",
            d.direction_id
        );
        assert!(
            d.points.windows(2).all(|w| w[0].dist_m <= w[1].dist_m),
            "dist_m grows along the shape"
        );
        assert!(
            d.stops
                .windows(2)
                .all(|w| w[0].stop_sequence < w[1].stop_sequence && w[0].dist_m <= w[1].dist_m),
            "stops in order"
        );
        let tenmonkan = d
            .stops
            .iter()
            .find(|s| s.stop_id == "tram_tenmonkan_dori")
            .expect("tram-1 stops at 天文館通");
        let name = tenmonkan.name.as_ref().expect("name");
        assert_eq!(
            (name.lang.as_str(), name.text.as_str()),
            ("en", "Tenmonkan-dori")
        );
        assert!(tenmonkan.lat > 31.0 && tenmonkan.lon > 130.0);
    }
    // The two directions run opposite ways.
    let first = |i: usize| {
        shape.directions[i]
            .stops
            .first()
            .expect("stops")
            .stop_id
            .clone()
    };
    let last = |i: usize| {
        shape.directions[i]
            .stops
            .last()
            .expect("stops")
            .stop_id
            .clone()
    };
    assert_eq!(first(0), last(1));
    assert_eq!(last(0), first(1));

    let one = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-1".into(),
            lang: "ko".into(),
            direction_id: Some(1),
        })
        .await
        .expect("shape")
        .into_inner();
    assert_eq!(one.directions.len(), 1);
    assert_eq!(one.directions[0].direction_id, 1);
    let tenmonkan = one.directions[0]
        .stops
        .iter()
        .find(|s| s.stop_id == "tram_tenmonkan_dori")
        .expect("天文館通");
    assert_eq!(tenmonkan.name.as_ref().expect("name").text, "덴몬칸도리");

    let unknown = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-99".into(),
            lang: "en".into(),
            direction_id: None,
        })
        .await
        .expect_err("unknown route");
    assert_eq!(unknown.code(), Code::NotFound);
    let bad_lang = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-1".into(),
            lang: "fr".into(),
            direction_id: None,
        })
        .await
        .expect_err("unknown language");
    assert_eq!(bad_lang.code(), Code::InvalidArgument);

    let zh = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-1".into(),
            lang: "zh-Hans".into(),
            direction_id: None,
        })
        .await
        .expect("shape in Simplified Chinese")
        .into_inner();
    let d0 = &zh.directions[0];
    assert!(d0.points.len() >= 2);
    assert!(d0.stops.iter().any(|s| s.stop_id == "tram_tenmonkan_dori"
        && s.name.as_ref().is_some_and(|n| n.text == "天文馆通")));
    let bad_direction = client
        .get_route_shape(GetRouteShapeRequest {
            route_id: "tram-1".into(),
            lang: "en".into(),
            direction_id: Some(2),
        })
        .await
        .expect_err("no direction 2");
    assert_eq!(bad_direction.code(), Code::InvalidArgument);
}
