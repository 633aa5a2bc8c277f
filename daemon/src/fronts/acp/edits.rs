//! A run's proposed edits: each file shown as a diff and written through the
//! client once the user allows it, within the agent's `fs_write` grants.

use std::{path::Path, sync::atomic::Ordering};

use acp::v1::{ConnectionTo, schema::*};
use agent_client_protocol::{self as acp, Client};
use anyhow::Result;
use protocol::agents::RunInfo;

use crate::services::documents::apply_edits;

use super::{
    live::LiveEdits,
    session::{Shared, daemon_error, say, update},
};

impl Shared {
    /// Shows each edited file as a diff and writes it through the client once
    /// the user allows it; a cancel stops before the next file or write.
    pub(super) async fn offer_edits(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        cwd: &Path,
        run: &RunInfo,
        live: &mut LiveEdits,
    ) -> acp::Result<PromptResponse> {
        let mut by_file: Vec<(String, Vec<&protocol::agents::TextEdit>)> = Vec::new();
        for edit in &run.edits {
            match by_file.iter_mut().find(|(uri, _)| *uri == edit.uri) {
                Some((_, edits)) => edits.push(edit),
                None => by_file.push((edit.uri.clone(), vec![edit])),
            }
        }
        let can_write = self.can_write.load(Ordering::Relaxed);
        let describe = protocol::agents::DescribeParams {
            agent: run.agent.clone(),
            project: Some(crate::platform::uri::from_path(cwd)),
        };
        let grants = self
            .call::<protocol::agents::Describe>(&describe)
            .await
            .map_err(daemon_error)?
            .manifest
            .permissions
            .fs_write;
        let cancelled = || Ok(PromptResponse::new(StopReason::Cancelled));
        for (n, (uri, edits)) in by_file.into_iter().enumerate() {
            if self.is_cancelled(sid) {
                return cancelled();
            }
            // The tool call that showed this file's edit being written, if one did.
            let shown = live.offer(&uri);
            let call_id = shown.clone().unwrap_or_else(|| format!("{}-edit-{n}", run.id));
            let Some(path) = crate::platform::uri::to_path(&uri) else { continue };
            // PAIRED's grants bound what the user is even asked about.
            if let Err(why) = may_write(&run.agent, &grants, cwd, &path) {
                say(cx, sid, &format!("\nNot applied: {why}.\n"))?;
                continue;
            }
            let old = match self.read(cx, sid, &path).await {
                Ok(text) => text,
                Err(err) => {
                    say(cx, sid, &format!("\nCannot read {} to apply {}'s edit: {err}\n", path.display(), run.agent))?;
                    continue;
                }
            };
            let Some(new) = apply_edits(&old, &edits) else {
                say(cx, sid, &format!("\n{}'s edits to {} overlap; not applied.\n", run.agent, path.display()))?;
                continue;
            };
            let diff = ToolCallContent::from(Diff::new(path.clone(), new.clone()).old_text(old));
            let title = format!("{}: edit {}", run.agent, path.display());
            update(cx, sid, offer(shown.is_some(), &call_id, title, &path, &diff))?;
            // A tool call update's content replaces the old: the diff stays in it.
            let not_applied = |note: String| {
                let fields = ToolCallUpdateFields::new()
                    .status(ToolCallStatus::Failed)
                    .content(vec![diff.clone(), ToolCallContent::from(note)]);
                SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(call_id.clone(), fields))
            };
            if !can_write {
                let note = "This editor does not let agents write files; apply the diff yourself.".to_owned();
                update(cx, sid, not_applied(note))?;
                continue;
            }
            match self.allowed(cx, sid, &run.agent, &call_id).await? {
                Permission::Granted => {}
                Permission::Declined => {
                    update(cx, sid, not_applied(format!("Not applied: you declined {}'s edit.", run.agent)))?;
                    continue;
                }
                Permission::Cancelled => {
                    update(cx, sid, not_applied("Not applied: the turn was cancelled.".to_owned()))?;
                    return cancelled();
                }
            }
            if self.is_cancelled(sid) {
                update(cx, sid, not_applied("Not applied: the turn was cancelled.".to_owned()))?;
                return cancelled();
            }
            let status = match cx.send_request(WriteTextFileRequest::new(sid.clone(), path, new)).block_task().await {
                Ok(_) => ToolCallStatus::Completed,
                Err(err) => {
                    say(cx, sid, &format!("\nThe editor did not write the file: {err}\n"))?;
                    ToolCallStatus::Failed
                }
            };
            update(
                cx,
                sid,
                SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(call_id, ToolCallUpdateFields::new().status(status))),
            )?;
        }
        Ok(PromptResponse::new(StopReason::EndTurn))
    }

    /// The user's permission for `agent` to write: asked once per edit, unless
    /// they allowed that agent for the whole session.
    async fn allowed(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        agent: &str,
        call_id: &str,
    ) -> acp::Result<Permission> {
        if self.sessions().get(&*sid.0).is_some_and(|s| s.trusted.iter().any(|a| a == agent)) {
            return Ok(Permission::Granted);
        }
        let options = vec![
            PermissionOption::new("allow-once", "Allow this edit", PermissionOptionKind::AllowOnce),
            PermissionOption::new(
                "allow-always",
                format!("Allow {agent}'s edits for this session"),
                PermissionOptionKind::AllowAlways,
            ),
            PermissionOption::new("reject", "Reject", PermissionOptionKind::RejectOnce),
        ];
        let request = RequestPermissionRequest::new(
            sid.clone(),
            ToolCallUpdate::new(call_id.to_owned(), ToolCallUpdateFields::new()),
            options,
        );
        let answer = cx.send_request(request).block_task().await?;
        let chosen = match answer.outcome {
            RequestPermissionOutcome::Selected(selected) => selected.option_id.0.to_string(),
            // The client answers `cancelled` when the turn was cancelled meanwhile.
            _ => return Ok(Permission::Cancelled),
        };
        if chosen == "allow-always"
            && let Some(session) = self.sessions().get_mut(&*sid.0)
        {
            session.trusted.push(agent.to_owned());
        }
        Ok(if chosen == "allow-once" || chosen == "allow-always" { Permission::Granted } else { Permission::Declined })
    }
}

/// The finished edit of a file, pending the user's answer: the tool call that
/// showed it being written (`shown`), or a new one.
fn offer(shown: bool, call_id: &str, title: String, path: &Path, diff: &ToolCallContent) -> SessionUpdate {
    if shown {
        let fields = ToolCallUpdateFields::new()
            .title(title)
            .status(ToolCallStatus::Pending)
            .content(vec![diff.clone()])
            .locations(vec![ToolCallLocation::new(path.to_path_buf())]);
        return SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(call_id.to_owned(), fields));
    }
    let call = ToolCall::new(call_id.to_owned(), title)
        .kind(ToolKind::Edit)
        .status(ToolCallStatus::Pending)
        .content(vec![diff.clone()])
        .locations(vec![ToolCallLocation::new(path.to_path_buf())]);
    SessionUpdate::ToolCall(call)
}

enum Permission {
    Granted,
    Declined,
    Cancelled,
}

/// Whether an agent's `fs_write` grants (globs relative to the session's
/// folder, which is canonical) cover `path`. Only plain paths count: no `.`
/// or `..`, and a link in the path must not lead out of the folder.
fn may_write(agent: &str, grants: &[String], cwd: &Path, path: &Path) -> Result<(), String> {
    use std::path::Component;
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return Err(format!("{} is not a plain absolute path", path.display()));
    }
    // The nearest existing ancestor, resolved, must still be inside the folder.
    let mut existing = path;
    while !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    let real = resolved.join(path.strip_prefix(existing).unwrap_or(Path::new("")));
    let rel = real
        .strip_prefix(cwd)
        .map_err(|_| format!("{} is outside the session's folder {}", path.display(), cwd.display()))?;
    let rel = rel.to_string_lossy();
    if grants.iter().any(|g| agents::grants::glob_matches(g, &rel)) {
        Ok(())
    } else {
        Err(format!("{agent} may not write {rel}: its fs_write grants are [{}]", grants.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_a_grant_and_stay_in_the_session_folder() {
        let cwd = Path::new("/p");
        let src = ["src/**".to_owned()];
        assert_eq!(may_write("ferris", &src, cwd, Path::new("/p/src/a.rs")), Ok(()));
        assert_eq!(
            may_write("ferris", &src, cwd, Path::new("/p/Cargo.toml")),
            Err("ferris may not write Cargo.toml: its fs_write grants are [src/**]".into())
        );
        assert!(
            may_write("ferris", &["**".into()], cwd, Path::new("/etc/passwd"))
                .expect_err("outside")
                .contains("outside")
        );
        assert!(may_write("ferris", &[], cwd, Path::new("/p/src/a.rs")).is_err());
    }

    #[test]
    fn edits_apply_from_the_end_and_overlaps_are_refused() {
        let edit = |sl, sc, el, ec, text: &str| protocol::agents::TextEdit {
            uri: "file:///a".into(),
            range: protocol::documents::Range {
                start: protocol::documents::Position { line: sl, character: sc },
                end: protocol::documents::Position { line: el, character: ec },
            },
            new_text: text.into(),
        };
        let text = "fn a() {}\nfn b() {}\n";
        let (doc, rename) = (edit(0, 0, 0, 0, "/// A.\n"), edit(1, 3, 1, 4, "c"));
        assert_eq!(apply_edits(text, &[&rename, &doc]).as_deref(), Some("/// A.\nfn a() {}\nfn c() {}\n"));
        let (x, y) = (edit(0, 0, 0, 5, "x"), edit(0, 3, 0, 8, "y"));
        assert_eq!(apply_edits(text, &[&x, &y]), None);
    }
}
