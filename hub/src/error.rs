//! The API's errors: one JSON shape, `{"error": {"code", "message"}}`, with
//! the HTTP status that says the same.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no valid token: send `Authorization: Bearer <token>` with a token that is not expired or revoked")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// A quota would be passed: which, how much is left, when it resets.
    #[error("{message}")]
    QuotaExceeded { message: String, quota: serde_json::Value },
    #[error("the request body is larger than this endpoint takes")]
    TooLarge,
    /// Too many requests from one token or address (GCRA).
    #[error("too many requests; try again in {0} ms")]
    RateLimited(u64),
    #[error("the database is unavailable; try again")]
    Unavailable(#[from] deadpool_postgres::PoolError),
    #[error("internal error")]
    Internal(#[from] tokio_postgres::Error),
    /// A failure that is not the request's (already logged where it happened).
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::QuotaExceeded { .. } => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) | ApiError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// `err` as a conflict when it broke a unique constraint (two requests
    /// racing to create the same thing), else as itself.
    pub fn unique(err: tokio_postgres::Error, what: impl Into<String>) -> ApiError {
        if err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            ApiError::Conflict(what.into())
        } else {
            ApiError::Internal(err)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        match &self {
            ApiError::Internal(err) => match err.as_db_error() {
                Some(db) => tracing::error!(
                    code = db.code().code(),
                    error = db.message(),
                    detail = db.detail(),
                    "request failed"
                ),
                None => tracing::error!(error = %err, cause = ?std::error::Error::source(err), "request failed"),
            },
            ApiError::Unavailable(err) => tracing::warn!(error = %err, "database unavailable"),
            _ => {}
        }
        let mut error = serde_json::json!({"code": code, "message": self.to_string()});
        if let ApiError::QuotaExceeded { quota, .. } = &self {
            error["quota"] = quota.clone();
        }
        let mut response = (status, Json(serde_json::json!({"error": error}))).into_response();
        if let ApiError::RateLimited(ms) = &self
            && let Ok(value) = axum::http::HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string())
        {
            response.headers_mut().insert("retry-after", value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Errors from outside the handlers (a path that does not parse, a method the
/// route does not take) in the API's one JSON shape, with their status.
pub async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("text/html") || v.starts_with("text/csv")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "invalid",
    };
    let message = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    let mut out = (status, Json(serde_json::json!({"error": {"code": code, "message": message}}))).into_response();
    if let Some(allow) = parts.headers.get(axum::http::header::ALLOW) {
        out.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
    }
    out
}
