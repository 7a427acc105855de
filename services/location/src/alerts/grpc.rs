//! `AlertService`: the bureau creates, updates and ends alerts (behind the
//! bureau-token interceptor); every change reloads the alerts in memory.
use chrono::{Duration, Utc};
use kagoshima_network::read::Catalog;
use kagoshima_proto::v1::{
    CreateAlertRequest, EndAlertRequest, ListAlertsResponse, ListAllAlertsRequest, ServiceAlert,
    UpdateAlertRequest, alert_service_server::AlertService,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use tracing::info;

use super::draft::Draft;
use super::{Alerts, store, to_proto};
use crate::static_info::InfoError;

#[derive(Debug, Clone)]
pub struct AlertApi {
    pool: PgPool,
    alerts: Alerts,
}

impl AlertApi {
    pub fn new(pool: PgPool, alerts: Alerts) -> AlertApi {
        AlertApi { pool, alerts }
    }

    async fn checked(
        &self,
        draft: Option<kagoshima_proto::v1::AlertDraft>,
    ) -> Result<Draft, Status> {
        let draft = draft.ok_or_else(|| Status::invalid_argument("alert is required"))?;
        let catalog = Catalog::active(&self.pool)
            .await
            .map_err(InfoError::from)?
            .ok_or(InfoError::NoFeed)?;
        Ok(Draft::check(draft, &catalog).await?)
    }

    /// Reloads the alerts in memory after a change; a failure is only
    /// logged, the periodic reload catches up.
    async fn changed(&self) {
        if let Err(e) = self.alerts.reload(&self.pool).await {
            tracing::warn!(error = %e, "could not reload the alerts after a change");
        }
    }
}

fn database(e: sqlx::Error) -> Status {
    InfoError::Database(e).into()
}

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn create_alert(
        &self,
        request: Request<CreateAlertRequest>,
    ) -> Result<Response<ServiceAlert>, Status> {
        let draft = self.checked(request.into_inner().alert).await?;
        let alert = store::insert(&self.pool, &draft).await.map_err(database)?;
        info!(alert_id = %alert.id, cause = %draft.cause, effect = %draft.effect, "alert created");
        self.changed().await;
        Ok(Response::new(to_proto(&alert, None)))
    }

    async fn update_alert(
        &self,
        request: Request<UpdateAlertRequest>,
    ) -> Result<Response<ServiceAlert>, Status> {
        let request = request.into_inner();
        let draft = self.checked(request.alert).await?;
        match store::update(&self.pool, &request.alert_id, &draft)
            .await
            .map_err(database)?
        {
            Some(alert) => {
                info!(alert_id = %alert.id, "alert updated");
                self.changed().await;
                Ok(Response::new(to_proto(&alert, None)))
            }
            None => Err(
                match store::get(&self.pool, &request.alert_id)
                    .await
                    .map_err(database)?
                {
                    Some(_) => Status::failed_precondition(format!(
                        "alert {:?} has ended: create a new one",
                        request.alert_id
                    )),
                    None => Status::not_found(format!("no alert {:?}", request.alert_id)),
                },
            ),
        }
    }

    async fn end_alert(
        &self,
        request: Request<EndAlertRequest>,
    ) -> Result<Response<ServiceAlert>, Status> {
        let id = request.into_inner().alert_id;
        let alert = store::end(&self.pool, &id)
            .await
            .map_err(database)?
            .ok_or_else(|| Status::not_found(format!("no alert {id:?}")))?;
        info!(alert_id = %alert.id, "alert ended");
        self.changed().await;
        Ok(Response::new(to_proto(&alert, None)))
    }

    async fn list_all_alerts(
        &self,
        request: Request<ListAllAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let since = request
            .into_inner()
            .include_ended
            .then(|| Utc::now() - Duration::days(30));
        let alerts = store::list(&self.pool, since).await.map_err(database)?;
        Ok(Response::new(ListAlertsResponse {
            alerts: alerts.iter().map(|a| to_proto(a, None)).collect(),
        }))
    }
}
