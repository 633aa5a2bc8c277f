//! The HTTP API, `/api/v1/…`: one file per area; each handler checks its
//! action (`Principal::check`) before it reads or changes anything. The routes
//! are the endpoints `roles::Action` lists (a test asserts they match).

mod audit;
mod export;
mod invitations;
mod members;
mod org;
pub mod policy;
mod quota;
pub mod registry;
mod sso;
mod teams;
mod tokens;
mod usage;

use axum::{
    Router,
    extract::{FromRequest, Request, rejection::JsonRejection},
    routing::{delete, get, post, put},
};
use serde::de::DeserializeOwned;

use crate::{Hub, error::ApiError};

pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/api/v1/org", get(org::show))
        .route("/api/v1/me", get(org::me))
        .route("/api/v1/roles", get(org::roles))
        .route("/api/v1/teams", get(teams::list).post(teams::create))
        .route("/api/v1/teams/{team}", delete(teams::remove))
        .route("/api/v1/teams/{team}/members/{member}", put(teams::add_member).delete(teams::remove_member))
        .route("/api/v1/members", get(members::list))
        .route("/api/v1/members/{member}", delete(members::erase))
        .route("/api/v1/members/{member}/role", put(members::set_role))
        .route("/api/v1/members/{member}/deactivate", post(members::deactivate))
        .route("/api/v1/members/{member}/reactivate", post(members::reactivate))
        .route("/api/v1/members/{member}/tokens", get(tokens::list_any))
        .route("/api/v1/members/{member}/tokens/{token}", delete(tokens::revoke_any))
        .route("/api/v1/invitations", get(invitations::list).post(invitations::create))
        .route("/api/v1/invitations/{invitation}", delete(invitations::revoke))
        .route("/api/v1/join", post(invitations::join))
        .route("/join", get(invitations::page))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{token}", delete(tokens::revoke))
        .route("/api/v1/usage", get(usage::query).post(usage::push))
        .route("/api/v1/me/usage", get(usage::own))
        .route("/api/v1/prices", get(usage::prices).put(usage::set_price))
        .route("/api/v1/policy", get(policy::mine))
        .route("/api/v1/policies", get(policy::list).put(policy::set))
        .route("/api/v1/quotas", get(quota::list).put(quota::set))
        .route("/api/v1/quotas/{quota}", delete(quota::remove))
        .route("/api/v1/quota/lease", post(quota::lease))
        .route("/api/v1/quota/release", post(quota::release))
        .route("/api/v1/me/quota", get(quota::own))
        .route("/api/v1/teams/{team}/sso-group", put(sso::map_group))
        .route("/api/v1/auth/exchange", post(sso::exchange))
        .route("/auth/login", get(sso::login))
        .route("/auth/callback", get(sso::callback))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/registry", get(registry::show).post(registry::init))
        .route("/api/v1/registry/repository/{kind}/{file}", get(registry::fetch))
        .route(
            "/api/v1/registry/packages",
            post(registry::publish).layer(axum::extract::DefaultBodyLimit::max(registry::MAX_PACKAGE_BYTES)),
        )
        .route("/api/v1/registry/packages/{name}/{version}/yank", post(registry::yank))
        .route("/api/v1/registry/packages/{name}/{version}/curate", post(registry::curate))
        .fallback(|| async { ApiError::NotFound("this endpoint".into()) })
        .layer(axum::middleware::from_fn(crate::error::json_errors))
        .with_state(hub)
}

/// A JSON body whose rejection speaks the API's error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge)
            }
            Err(rejection) => Err(ApiError::Invalid(describe(&rejection))),
        }
    }
}

fn describe(rejection: &JsonRejection) -> String {
    format!("the request body is not what this endpoint takes: {}", rejection.body_text())
}

/// Text fields: trimmed, not empty, not too long.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(|c| c.is_control() || invisible(c)) {
        return Err(ApiError::Invalid(format!(
            "{field} must be 1 to {max} characters, with no control, direction or invisible formatting characters"
        )));
    }
    Ok(value.to_owned())
}

/// Characters that change how text around them shows (bidirectional
/// overrides and isolates, zero-width ones): a name that reads as another.
fn invisible(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// An email address, as far as the hub needs one (a name to invite and match).
pub fn email(value: &str) -> Result<String, ApiError> {
    let value = text("email", value, 254)?;
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace) => {
            Ok(value)
        }
        _ => Err(ApiError::Invalid(format!("{value:?} is not an email address"))),
    }
}
