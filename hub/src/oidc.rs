//! Sign-in with OpenID Connect for people: the identity provider's metadata
//! (discovered once), the authorization request with PKCE (S256), state and
//! nonce, and the code exchanged for an ID token whose signature, issuer,
//! audience, expiry and nonce are checked by `openidconnect`. HTTP goes through
//! our own reqwest, which follows no redirects.

use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine as _;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use serde::Deserialize;

/// How the hub is told about its identity provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: PathBuf,
    /// The ID token claim that lists the user's groups.
    pub groups_claim: String,
}

/// The identity provider, as discovered.
pub struct Oidc {
    metadata: CoreProviderMetadata,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    groups_claim: String,
    http: reqwest::Client,
}

/// Who signed in, from a verified ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// What starting a sign-in leaves to check at the callback.
pub struct Started {
    pub url: String,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl Oidc {
    pub async fn discover(config: &OidcConfig, public_url: &str) -> anyhow::Result<Oidc> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let secret = std::fs::read_to_string(&config.client_secret_file)
            .with_context(|| format!("reading {}", config.client_secret_file.display()))?;
        let issuer = IssuerUrl::new(config.issuer.clone()).context("--oidc-issuer is not a URL")?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &Http(http.clone()))
            .await
            .with_context(|| format!("discovering the identity provider at {}", config.issuer))?;
        Ok(Oidc {
            metadata,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(secret.trim().to_owned()),
            redirect: RedirectUrl::new(format!("{public_url}/auth/callback")).context("the hub's public URL")?,
            groups_claim: config.groups_claim.clone(),
            http,
        })
    }

    fn client(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Where to send the browser, and what to keep for the callback.
    pub fn start(&self) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new(self.groups_claim.clone()))
            .set_pkce_challenge(challenge)
            .url();
        Started {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        }
    }

    /// The code exchanged (with the PKCE verifier) and the ID token verified.
    pub async fn finish(&self, code: &str, verifier: &str, nonce: &str) -> Result<Identity, String> {
        let client = self.client();
        let http = Http(self.http.clone());
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| format!("the identity provider has no token endpoint: {err}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|err| format!("the identity provider refused the code: {err}"))?;
        let id_token = tokens.id_token().ok_or("the identity provider sent no ID token")?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|err| format!("the ID token does not verify: {err}"))?;
        // The groups claim is not a standard one: read from the token's payload,
        // whose signature and claims were verified just above.
        let groups = payload_groups(&id_token.to_string(), &self.groups_claim);
        Ok(Identity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
            groups,
        })
    }
}

fn payload_groups(jwt: &str, claim: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct Payload {
        #[serde(flatten)]
        rest: serde_json::Map<String, serde_json::Value>,
    }
    let Some(payload) = jwt.split('.').nth(1) else { return Vec::new() };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return Vec::new();
    };
    let Ok(payload) = serde_json::from_slice::<Payload>(&bytes) else { return Vec::new() };
    payload
        .rest
        .get(claim)
        .and_then(|g| g.as_array())
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect()
}

/// `openidconnect`'s HTTP client: our reqwest (a named type, so the futures
/// that use it are `Send` for any lifetime, as axum's handlers must be).
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One HTTP exchange for `openidconnect`, on reqwest.
async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut outgoing = client.request(parts.method, parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name, value);
    }
    let response = outgoing.send().await.map_err(|err| HttpError(err.to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|err| HttpError(err.to_string()))?.to_vec();
    let mut built = http::Response::builder().status(status);
    for (name, value) in &headers {
        built = built.header(name, value);
    }
    built.body(body).map_err(|err| HttpError(err.to_string()))
}
