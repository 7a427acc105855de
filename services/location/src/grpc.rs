//! `PassengerService` over gRPC. The static methods delegate to
//! [`StaticInfo`]; issue #5 adds the live methods (arrivals, vehicles and
//! their streams) to this impl, delegating to a `live` module of its own.
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use kagoshima_proto::v1::{
    GetArrivalsRequest, GetArrivalsResponse, GetRouteShapeRequest, GetStopRequest, GetStopResponse,
    GetStopTimetableRequest, GetStopTimetableResponse, ListAlertsRequest, ListAlertsResponse,
    ListRoutesRequest, ListRoutesResponse, ListVehiclesRequest, ListVehiclesResponse, NearbyStop,
    NearbyStopsRequest, NearbyStopsResponse, RouteShape, SearchStopsRequest, SearchStopsResponse,
    StreamArrivalsRequest, StreamVehiclesRequest, TransitMode,
    passenger_service_server::PassengerService,
};
use tonic::{Request, Response, Status};

use crate::alerts::{self, Alerts};
use crate::live::{Live, now};
use crate::static_info::{InfoError, StaticInfo, parse_lang};

#[derive(Debug, Clone)]
pub struct PassengerApi {
    info: StaticInfo,
    live: Live,
    alerts: Alerts,
}

impl PassengerApi {
    pub fn new(info: StaticInfo, live: Live, alerts: Alerts) -> PassengerApi {
        PassengerApi { info, live, alerts }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn refresh(asked: u32, default_s: u64) -> Result<Duration, Status> {
    match asked {
        0 => Ok(Duration::from_secs(default_s.max(1))),
        5..=300 => Ok(Duration::from_secs(u64::from(asked))),
        other => Err(Status::invalid_argument(format!(
            "refresh_seconds {other} is out of range: use 5 to 300 (0 for the default)"
        ))),
    }
}

/// A stream that sends `make()` now, then on every change of live state
/// (at most once a second) when the answer differs, and at least every `every`.
fn live_stream<T, F>(live: Live, every: Duration, make: F) -> BoxStream<T>
where
    T: PartialEq + Clone + Send + 'static + WithoutStamp,
    F: Fn() -> Result<T, Status> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut changes = live.subscribe();
    tokio::spawn(async move {
        let mut last: Option<T> = None;
        let mut last_sent = tokio::time::Instant::now();
        loop {
            let answer = make();
            let send = match (&answer, &last) {
                (Ok(a), Some(l)) => {
                    a.without_stamp() != l.without_stamp() || last_sent.elapsed() >= every
                }
                _ => true,
            };
            if send {
                if let Ok(a) = &answer {
                    last = Some(a.clone());
                }
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    return;
                }
                last_sent = tokio::time::Instant::now();
            }
            let wait = every.saturating_sub(last_sent.elapsed());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                r = changes.changed() => {
                    if r.is_err() { return; }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                () = tx.closed() => return,
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// A response without its generation time (to see whether it changed).
pub trait WithoutStamp {
    fn without_stamp(&self) -> Self;
}

impl WithoutStamp for GetArrivalsResponse {
    fn without_stamp(&self) -> Self {
        let mut c = self.clone();
        c.generated_at = None;
        for a in &mut c.arrivals {
            // The countdowns move with the clock, not with the data.
            a.minutes = 0;
            a.minutes_low = 0;
            a.minutes_high = 0;
        }
        c
    }
}

impl WithoutStamp for ListVehiclesResponse {
    fn without_stamp(&self) -> Self {
        let mut c = self.clone();
        c.generated_at = None;
        c
    }
}

#[tonic::async_trait]
impl PassengerService for PassengerApi {
    type StreamArrivalsStream = BoxStream<GetArrivalsResponse>;
    type StreamVehiclesStream = BoxStream<ListVehiclesResponse>;

    async fn get_arrivals(
        &self,
        request: Request<GetArrivalsRequest>,
    ) -> Result<Response<GetArrivalsResponse>, Status> {
        let r = request.into_inner();
        let answer = self.live.arrivals(
            &r.stop_id,
            &r.lang,
            r.limit,
            &r.route_id,
            now(),
            &self.alerts,
        )?;
        Ok(Response::new(answer))
    }

    async fn stream_arrivals(
        &self,
        request: Request<StreamArrivalsRequest>,
    ) -> Result<Response<Self::StreamArrivalsStream>, Status> {
        let r = request.into_inner();
        let every = refresh(r.refresh_seconds, self.live.config().stream_refresh_s)?;
        // Bad requests fail now, not in the stream.
        self.live.arrivals(
            &r.stop_id,
            &r.lang,
            r.limit,
            &r.route_id,
            now(),
            &self.alerts,
        )?;
        let live = self.live.clone();
        let alerts = self.alerts.clone();
        let make = move || {
            live.arrivals(&r.stop_id, &r.lang, r.limit, &r.route_id, now(), &alerts)
                .map_err(Status::from)
        };
        Ok(Response::new(live_stream(self.live.clone(), every, make)))
    }

    async fn list_vehicles(
        &self,
        request: Request<ListVehiclesRequest>,
    ) -> Result<Response<ListVehiclesResponse>, Status> {
        let r = request.into_inner();
        Ok(Response::new(self.live.vehicles(
            &r.route_id,
            &r.lang,
            now(),
        )?))
    }

    async fn stream_vehicles(
        &self,
        request: Request<StreamVehiclesRequest>,
    ) -> Result<Response<Self::StreamVehiclesStream>, Status> {
        let r = request.into_inner();
        let every = refresh(r.refresh_seconds, self.live.config().stream_refresh_s)?;
        self.live.vehicles(&r.route_id, &r.lang, now())?;
        let live = self.live.clone();
        let make = move || {
            live.vehicles(&r.route_id, &r.lang, now())
                .map_err(Status::from)
        };
        Ok(Response::new(live_stream(self.live.clone(), every, make)))
    }

    async fn list_routes(
        &self,
        request: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesResponse>, Status> {
        let r = request.into_inner();
        let mode = TransitMode::try_from(r.mode).map_err(|_| {
            Status::from(InfoError::InvalidArgument(format!(
                "unknown mode {}",
                r.mode
            )))
        })?;
        let routes = self.info.list_routes(mode, &r.lang).await?;
        Ok(Response::new(ListRoutesResponse { routes }))
    }

    async fn get_stop(
        &self,
        request: Request<GetStopRequest>,
    ) -> Result<Response<GetStopResponse>, Status> {
        let r = request.into_inner();
        let stop = self.info.get_stop(&r.stop_id, &r.lang).await?;
        Ok(Response::new(GetStopResponse { stop: Some(stop) }))
    }

    async fn search_stops(
        &self,
        request: Request<SearchStopsRequest>,
    ) -> Result<Response<SearchStopsResponse>, Status> {
        let r = request.into_inner();
        let stops = self.info.search_stops(&r.query, &r.lang, r.limit).await?;
        Ok(Response::new(SearchStopsResponse { stops }))
    }

    async fn nearby_stops(
        &self,
        request: Request<NearbyStopsRequest>,
    ) -> Result<Response<NearbyStopsResponse>, Status> {
        let r = request.into_inner();
        let stops = self
            .info
            .nearby_stops(r.lat, r.lon, &r.lang, r.limit, r.radius_m)
            .await?
            .into_iter()
            .map(|(stop, distance_m)| NearbyStop {
                stop: Some(stop),
                distance_m,
            })
            .collect();
        Ok(Response::new(NearbyStopsResponse { stops }))
    }

    async fn get_route_shape(
        &self,
        request: Request<GetRouteShapeRequest>,
    ) -> Result<Response<RouteShape>, Status> {
        let r = request.into_inner();
        let shape = self
            .info
            .route_shape(&r.route_id, &r.lang, r.direction_id)
            .await?;
        Ok(Response::new(shape))
    }

    async fn get_stop_timetable(
        &self,
        request: Request<GetStopTimetableRequest>,
    ) -> Result<Response<GetStopTimetableResponse>, Status> {
        let r = request.into_inner();
        let answer = self
            .info
            .stop_timetable(&r.stop_id, Some(&r.date), Some(&r.route_id), &r.lang)
            .await?;
        Ok(Response::new(answer))
    }

    async fn list_alerts(
        &self,
        request: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let r = request.into_inner();
        let lang = parse_lang(&r.lang)?;
        let subject = self.live.alert_subject(&r.stop_id, &r.route_id)?;
        let alerts = self.alerts.in_force(chrono::Utc::now(), subject.as_ref());
        Ok(Response::new(ListAlertsResponse {
            alerts: alerts
                .iter()
                .map(|a| alerts::to_proto(a, Some(lang)))
                .collect(),
        }))
    }
}
