//! Who is asking: a bearer token (a member's personal or device token, or the
//! break-glass admin token) resolved to a `Principal` — or refused.

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{
    Hub,
    error::ApiError,
    roles::{self, Action, Role, Within},
    secret,
};

/// The holder of a valid token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org: i64,
    /// `None` for the break-glass admin token, which acts for no member.
    pub member: Option<i64>,
    pub role: Role,
    /// The teams the member is in.
    pub teams: Vec<i64>,
    /// The token's scopes (`read`, `write`, `device`).
    pub scopes: Vec<String>,
    pub token: Option<i64>,
    /// When the token used expires (a token never makes one that outlives it).
    pub token_expires: Option<jiff::Timestamp>,
}

impl Principal {
    /// The one check every endpoint makes before doing anything.
    pub fn check(&self, action: Action, within: Within) -> Result<(), ApiError> {
        if roles::may(self.role, &self.teams, &self.scopes, action, within) {
            return Ok(());
        }
        let why = if !roles::permits(self.role, action) {
            format!("a {} may not {} ({})", self.role.as_str(), action.describe(), action.name())
        } else if matches!(within, Within::Team(_)) || action.team_scoped() {
            format!("a team lead may {} only within a team they are in", action.describe())
        } else {
            format!("this token's scopes ({}) do not allow {}", self.scopes.join(", "), action.name())
        };
        Err(ApiError::Forbidden(why))
    }

    /// The member acting, for what only a member can do (own tokens).
    pub fn member(&self) -> Result<i64, ApiError> {
        self.member.ok_or_else(|| {
            ApiError::Invalid(
                "the break-glass admin token acts for no member: invite yourself and use your own token".into(),
            )
        })
    }
}

impl FromRequestParts<Hub> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Principal, ApiError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let digest = secret::hash(presented);
        if let Some(admin) = &hub.admin_token
            && secret::equal(admin, &digest)
        {
            // Every use of the break-glass token is in the audit log, reads too.
            let client = hub.pool.get().await?;
            let details = serde_json::json!({"method": parts.method.as_str(), "path": parts.uri.path()});
            crate::audit::record_as(&client, hub.org, None, "break_glass.use", "org", details).await?;
            return Ok(Principal {
                org: hub.org,
                member: None,
                role: Role::Admin,
                teams: Vec::new(),
                scopes: vec!["write".into()],
                token: None,
                token_expires: None,
            });
        }
        let client = hub.pool.get().await?;
        let row = client
            .query_opt(
                "select t.id, t.member_id, t.scopes, m.role, m.org_id,
                        array(select team_id from team_members where member_id = m.id order by team_id), t.expires_at
                   from tokens t join members m on m.id = t.member_id
                  where t.token_hash = $1 and t.revoked_at is null
                    and (t.expires_at is null or t.expires_at > now())
                    and m.status = 'active' and m.org_id = $2",
                &[&digest.as_slice(), &hub.org],
            )
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let token: i64 = row.get(0);
        // When a token was last used, to the minute (not a write per request).
        client
            .execute(
                "update tokens set last_used_at = now()
                  where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')",
                &[&token],
            )
            .await?;
        let role: String = row.get(3);
        Ok(Principal {
            org: row.get(4),
            member: Some(row.get(1)),
            role: Role::parse(&role).ok_or(ApiError::Unauthenticated)?,
            teams: row.get(5),
            scopes: row.get(2),
            token: Some(token),
            token_expires: row.get(6),
        })
    }
}
