//! Rate limits (GCRA, `governor`): per token, and per address for requests
//! without one (joining with a code), in each replica. A request over its
//! limit gets 429 with `Retry-After`.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::{error::ApiError, secret};

pub struct Limits {
    tokens: DefaultKeyedRateLimiter<secret::Hash>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Limits {
    /// `per_second` requests a second per token (bursts of twice that); a
    /// tenth of it per address without a token.
    pub fn new(per_second: u32) -> Arc<Limits> {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(NonZeroU32::MIN);
        let anonymous = NonZeroU32::new((per_second / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        let anonymous_burst = anonymous.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        let limits = Arc::new(Limits {
            tokens: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            addresses: RateLimiter::keyed(Quota::per_second(anonymous).allow_burst(anonymous_burst)),
            clock: DefaultClock::default(),
        });
        // Keys not seen for a while are forgotten: memory stays bounded.
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limits) = weak.upgrade() else { return };
                limits.tokens.retain_recent();
                limits.addresses.retain_recent();
            }
        });
        limits
    }

    fn check(&self, token: Option<&str>, address: IpAddr) -> Result<(), ApiError> {
        let outcome = match token {
            Some(token) => self.tokens.check_key(&secret::hash(token)),
            None => self.addresses.check_key(&address),
        };
        outcome.map_err(|until| ApiError::RateLimited(until.wait_time_from(self.clock.now()).as_millis() as u64))
    }
}

/// The middleware: every request passes here first.
pub async fn limit(
    State(limits): State<Arc<Limits>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    // What needs no token (joining, signing in) counts by address, whatever
    // bearer it carries: a made-up token is not a fresh allowance.
    let path = request.uri().path();
    // The console's pages are the same few embedded files for everyone: not
    // counted (what they hold is public; its data is, below).
    if path.starts_with("/console") && !path.starts_with("/console/api/") {
        return next.run(request).await;
    }
    let anonymous =
        path == "/api/v1/join" || path == "/api/v1/auth/exchange" || path.starts_with("/auth/") || path == "/join";
    // A console session counts as a token does (its own allowance, not its address's).
    let console =
        path.starts_with("/console/api/").then(|| crate::console::session_cookie(request.headers())).flatten();
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .or(console)
        .filter(|_| !anonymous);
    if let Err(refused) = limits.check(token, peer.ip()) {
        return refused.into_response();
    }
    next.run(request).await
}
