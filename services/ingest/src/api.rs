//! `IngestService`: back offices upload batches of device events over gRPC and
//! get an outcome per item. Token-protected (see `kagoshima_runtime::auth`).
use chrono::Utc;
use kagoshima_domain::{
    topic::{DeviceTopic, Kind},
    validation::{Reason, Rejection, ValidEvent},
};
use kagoshima_proto::v1::{
    DeviceDiagnostics, DeviceEvent, GetDeviceDiagnosticsRequest, ItemOutcome, ItemResult,
    ListDevicesRequest, ListDevicesResponse, UploadEventsRequest, UploadEventsResponse,
    device_event::Event, ingest_service_server::IngestService,
};
use kagoshima_storage::{Batch, DeadLetter, Store};
use prost::Message;
use tonic::{Request, Response, Status};
use tracing::{error, info};

use crate::{
    metrics::{IngestMetrics, KindLabel, ReasonLabel},
    pipeline::{Fate, Pipeline, Slot, add_dead_letter, parse_mode},
};

/// The most events one upload may carry.
pub const MAX_EVENTS_PER_UPLOAD: usize = 10_000;

#[derive(Debug, Clone)]
pub struct IngestApi {
    pipeline: Pipeline,
    store: Store,
    metrics: IngestMetrics,
}

impl IngestApi {
    pub fn new(pipeline: Pipeline, store: Store, metrics: IngestMetrics) -> Self {
        IngestApi {
            pipeline,
            store,
            metrics,
        }
    }

    fn validate(
        &self,
        item: &DeviceEvent,
        now: chrono::DateTime<Utc>,
    ) -> Result<(DeviceTopic, ValidEvent), Rejection> {
        let mode = parse_mode(&item.mode).ok_or_else(|| {
            Rejection::new(
                Reason::InvalidField,
                format!("mode {:?} is not tram, bus or community_bus", item.mode),
            )
        })?;
        let event = item.event.as_ref().ok_or_else(|| {
            Rejection::new(
                Reason::MissingField,
                "event is missing (set position, tap, passengers or status)",
            )
        })?;
        let v = self.pipeline.validator();
        let topic = |vehicle_id: &str, kind| DeviceTopic::new(mode, vehicle_id, kind);
        match event {
            Event::Position(m) => {
                let t = topic(&m.vehicle_id, Kind::Position);
                v.position(&t, m.clone(), now).map(|e| (t, e))
            }
            Event::Tap(m) => {
                let t = topic(&m.vehicle_id, Kind::Tap);
                v.tap(&t, m.clone(), now).map(|e| (t, e))
            }
            Event::Passengers(m) => {
                let t = topic(&m.vehicle_id, Kind::Passengers);
                v.passengers(&t, m.clone(), now).map(|e| (t, e))
            }
            Event::Status(m) => {
                let t = topic(&m.vehicle_id, Kind::Status);
                v.status(&t, m.clone(), now).map(|e| (t, e))
            }
        }
    }
}

/// The devices the caller's token may see (all, without a scope).
fn scope_of<T>(request: &Request<T>) -> kagoshima_runtime::auth::DeviceScope {
    request
        .extensions()
        .get::<kagoshima_runtime::auth::DeviceScope>()
        .cloned()
        .unwrap_or_default()
}

/// The device and kind an upload item names, when it names one.
fn vehicle_and_kind(item: &DeviceEvent) -> Option<(&str, Kind)> {
    let (vehicle_id, kind) = match item.event.as_ref()? {
        Event::Position(m) => (&m.vehicle_id, Kind::Position),
        Event::Tap(m) => (&m.vehicle_id, Kind::Tap),
        Event::Passengers(m) => (&m.vehicle_id, Kind::Passengers),
        Event::Status(m) => (&m.vehicle_id, Kind::Status),
    };
    (!vehicle_id.is_empty()).then_some((vehicle_id.as_str(), kind))
}

#[tonic::async_trait]
impl IngestService for IngestApi {
    async fn upload_events(
        &self,
        request: Request<UploadEventsRequest>,
    ) -> Result<Response<UploadEventsResponse>, Status> {
        let caller = request
            .extensions()
            .get::<kagoshima_runtime::auth::Caller>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let items = request.into_inner().events;
        if items.len() > MAX_EVENTS_PER_UPLOAD {
            return Err(Status::invalid_argument(format!(
                "an upload holds at most {MAX_EVENTS_PER_UPLOAD} events (got {}); split it",
                items.len()
            )));
        }
        let now = Utc::now();
        let mut batch = Batch::default();
        let mut rejections: Vec<Option<Rejection>> = Vec::with_capacity(items.len());
        let slots: Vec<Slot> = items
            .iter()
            .map(|item| match self.validate(item, now) {
                Ok((topic, event)) => {
                    rejections.push(None);
                    self.pipeline.add_valid(&mut batch, &topic, event, "api")
                }
                Err(rejection) => {
                    let mut letter = DeadLetter::new("api", &rejection, &item.encode_to_vec(), now);
                    // Attributed to its device, so the vendor's diagnostics show it.
                    if let Some((vehicle_id, kind)) = vehicle_and_kind(item) {
                        letter = letter.with_vehicle(vehicle_id).with_kind(kind.as_str());
                    }
                    let slot = add_dead_letter(&mut batch, letter, &rejection);
                    rejections.push(Some(rejection));
                    slot
                }
            })
            .collect();

        let outcome = self.store.write_batch(&batch).await.map_err(|e| {
            error!(error = %e, "upload could not be stored");
            Status::unavailable(
                "the database is unavailable; nothing of this upload was stored, retry later",
            )
        })?;

        let mut response = UploadEventsResponse::default();
        for (index, (slot, rejection)) in slots.iter().zip(rejections).enumerate() {
            let mut result = ItemResult {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                ..Default::default()
            };
            match slot.fate(&outcome) {
                Fate::Stored => {
                    result.outcome = ItemOutcome::Accepted.into();
                    response.accepted += 1;
                    self.metrics
                        .stored
                        .get_or_create(&KindLabel { kind: slot.kind() })
                        .inc();
                }
                Fate::Duplicate => {
                    result.outcome = ItemOutcome::Duplicate.into();
                    response.duplicates += 1;
                    self.metrics
                        .duplicates
                        .get_or_create(&KindLabel { kind: slot.kind() })
                        .inc();
                }
                Fate::DeadLettered => {
                    let rejection = rejection
                        .unwrap_or_else(|| Rejection::new(Reason::InvalidField, "refused"));
                    result.outcome = ItemOutcome::Rejected.into();
                    result.reason = rejection.reason.code().to_owned();
                    result.detail = rejection.detail;
                    response.rejected += 1;
                    self.metrics
                        .dead_lettered
                        .get_or_create(&ReasonLabel {
                            reason: rejection.reason.code(),
                        })
                        .inc();
                }
            }
            response.results.push(result);
        }
        info!(
            client = %caller,
            accepted = response.accepted,
            duplicates = response.duplicates,
            rejected = response.rejected,
            "upload stored"
        );
        Ok(Response::new(response))
    }

    async fn list_devices(
        &self,
        request: Request<ListDevicesRequest>,
    ) -> Result<Response<ListDevicesResponse>, Status> {
        let scope = scope_of(&request);
        let asked = request.into_inner().window_hours;
        crate::diagnostics::list(&self.store, &scope, asked)
            .await
            .map(Response::new)
    }

    async fn get_device_diagnostics(
        &self,
        request: Request<GetDeviceDiagnosticsRequest>,
    ) -> Result<Response<DeviceDiagnostics>, Status> {
        let scope = scope_of(&request);
        let r = request.into_inner();
        crate::diagnostics::device(&self.store, &scope, &r.vehicle_id, r.window_hours)
            .await
            .map(Response::new)
    }
}
