//! The console's Agents page: what is installed (versions, certification,
//! updates available, permissions granted, rollback target), the
//! marketplace's search, and install, update, rollback and remove with the
//! CLI's consent: a package that asks for permissions is refused with what it
//! asks (409 and the list), and installed only when the page sends back the
//! very list the user was shown and accepted.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use http::StatusCode;
use protocol::market::{InstallParams, PackageRef, SearchParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::refuse;
use crate::{
    server::daemon::Daemon,
    services::market::{error::MarketError, service},
};

type DaemonState = State<Arc<Daemon>>;

/// The team and what the marketplace installed, each package with its
/// certification and the newest version its registry offers this daemon.
pub async fn agents(State(d): DaemonState) -> Json<Value> {
    let agents: Vec<Value> = d
        .runs
        .list(None)
        .into_iter()
        .map(|a| json!({"id": a.id, "name": a.display_name, "role": a.role, "source": a.source}))
        .collect();
    let mut installed = Vec::new();
    for p in service::installed(&d.market) {
        // From the registry's cached (signed) index: no network on a page view.
        let info = service::info(&d.market, PackageRef { name: p.name.clone(), registry: Some(p.registry.clone()) })
            .await
            .ok();
        let this = info.as_ref().and_then(|i| i.versions.iter().find(|v| v.version == p.version));
        let newest = info
            .as_ref()
            .map(|i| &i.latest)
            .filter(|l| l.compatible && !l.yanked && newer(&l.version, &p.version) && !p.version.is_empty());
        installed.push(json!({
            "name": p.name,
            "version": p.version,
            "registry": p.registry,
            "publisher": this.map(|v| v.publisher.clone()),
            "certification": this.map_or("unknown", |v| v.certification.as_str()),
            "permissions": p.permissions,
            "update": newest.map(|n| n.version.clone()),
            "update_permissions": newest.map(|n| n.permissions.clone()),
            "previous": p.kept.first(),
        }));
    }
    Json(json!({"agents": agents, "installed": installed}))
}

fn newer(candidate: &str, current: &str) -> bool {
    match (semver::Version::parse(candidate), semver::Version::parse(current)) {
        (Ok(candidate), Ok(current)) => candidate > current,
        _ => false,
    }
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// The marketplace's packages for `q` (every package when empty).
pub async fn search(State(d): DaemonState, Query(query): Query<SearchQuery>) -> Response {
    // `*` lists everything (an empty search box is no search).
    let text = if query.q.trim() == "*" { String::new() } else { query.q };
    let params = SearchParams { query: text, registry: None, limit: Some(50) };
    match service::search(&d.market, params).await {
        Ok(found) => Json(found).into_response(),
        Err(err) => market_error(err),
    }
}

/// What the page sends to change a package.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    name: String,
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    version: Option<String>,
    /// The permission lines the user was shown and accepted (the consent
    /// answer's); absent until they were.
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `POST /console/api/market/{install|update|rollback|remove}`.
pub async fn change(State(d): DaemonState, Path(action): Path<String>, Json(change): Json<Change>) -> Response {
    let install = |version| InstallParams {
        name: change.name.clone(),
        version,
        registry: change.registry.clone(),
        accept_permissions: change.permissions.is_some(),
        permissions: change.permissions.clone(),
        licence: None,
    };
    let package = PackageRef { name: change.name.clone(), registry: change.registry.clone() };
    let (done, audited) = match action.as_str() {
        "install" => (service::install(&d.market, install(change.version.clone())).await, "market.install"),
        // After consent, the version the user was shown, not whatever is newest now.
        "update" if change.version.is_some() => {
            (service::install(&d.market, install(change.version.clone())).await, "market.update")
        }
        "update" => (service::update(&d.market, install(None)).await, "market.update"),
        "rollback" => (service::rollback(&d.market, package).await, "market.rollback"),
        "remove" => (service::remove(&d.market, package).await, "market.remove"),
        _ => {
            return refuse(StatusCode::NOT_FOUND, "the marketplace's actions are install, update, rollback and remove");
        }
    };
    match done {
        Ok(installed) => {
            super::audit_market(&d, "you (console)", audited, &installed);
            Json(installed).into_response()
        }
        Err(err) => market_error(err),
    }
}

/// A refusal in the console's shape; consent carries what to show.
fn market_error(err: MarketError) -> Response {
    let status = match &err {
        MarketError::NeedsConsent { message, data } => {
            let body = json!({"error": {"message": message, "consent": data}});
            return (StatusCode::CONFLICT, Json(body)).into_response();
        }
        MarketError::NotFound(_) => StatusCode::NOT_FOUND,
        MarketError::Invalid(_) | MarketError::Limit(_) => StatusCode::BAD_REQUEST,
        MarketError::Conflict(_) => StatusCode::CONFLICT,
        MarketError::Refused(_) | MarketError::NeedsLicence(_) => StatusCode::FORBIDDEN,
        MarketError::Verification(_) => StatusCode::BAD_GATEWAY,
        MarketError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refuse(status, &err.to_string())
}
