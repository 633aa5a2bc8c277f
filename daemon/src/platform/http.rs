//! The daemon's HTTP clients (model providers, the marketplace, the team hub,
//! pinned tools' package index, `paired setup`'s probes) all start here:
//! reqwest is built without a default TLS crypto provider, and ring is ours,
//! installed once for the process before the first client is built.

/// A client builder with the crypto provider in place and PAIRED's user agent;
/// each caller adds its own timeouts and redirect rule.
pub fn client() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err: a provider was installed already (a test harness's, say); that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder().user_agent(concat!("paired/", env!("CARGO_PKG_VERSION")))
}
