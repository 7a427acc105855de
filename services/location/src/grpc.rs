//! `PassengerService` over gRPC. The static methods delegate to
//! [`StaticInfo`]; issue #5 adds the live methods (arrivals, vehicles and
//! their streams) to this impl, delegating to a `live` module of its own.
use kagoshima_proto::v1::{
    GetStopRequest, GetStopResponse, GetStopTimetableRequest, GetStopTimetableResponse,
    ListRoutesRequest, ListRoutesResponse, SearchStopsRequest, SearchStopsResponse, TransitMode,
    passenger_service_server::PassengerService,
};
use tonic::{Request, Response, Status};

use crate::static_info::{InfoError, StaticInfo};

#[derive(Debug, Clone)]
pub struct PassengerApi {
    info: StaticInfo,
}

impl PassengerApi {
    pub fn new(info: StaticInfo) -> PassengerApi {
        PassengerApi { info }
    }
}

#[tonic::async_trait]
impl PassengerService for PassengerApi {
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
}
