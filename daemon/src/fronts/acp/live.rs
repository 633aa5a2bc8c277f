//! An agent's edit as the model writes it, in the client's own diff: the
//! daemon's `run_edit` pieces gathered per file and shown as a tool call of
//! kind `edit` whose diff fills in (at most every [`EVERY`]). When the run
//! ends, [`Shared::offer_edits`] asks the user about the finished edit on the
//! same tool call.

use std::{
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use acp::v1::{ConnectionTo, schema::*};
use agent_client_protocol::{self as acp, Client};
use protocol::{agents::TextEdit, documents::Range};

use super::session::{Shared, update};

/// How often a file's diff is sent again while the edit comes.
const EVERY: Duration = Duration::from_millis(100);

/// The edits of one run so far.
#[derive(Default)]
pub(super) struct LiveEdits {
    run_id: String,
    /// By the daemon's call key ("round.index"), in arrival order.
    calls: Vec<(String, TextEdit)>,
    files: Vec<LiveFile>,
}

struct LiveFile {
    uri: String,
    path: PathBuf,
    /// The text the edit applies to, read once.
    old: Option<String>,
    shown: Option<Instant>,
    /// The finished edit was offered on this file's tool call.
    offered: bool,
}

impl LiveEdits {
    pub(super) fn new(run_id: &str) -> LiveEdits {
        LiveEdits { run_id: run_id.to_owned(), ..LiveEdits::default() }
    }

    /// The tool call that shows the `n`th file the run edits while it is written.
    fn call_id(&self, n: usize) -> String {
        format!("{}-writing-{n}", self.run_id)
    }

    /// The tool call that showed `uri`'s edit being written, if one did: the
    /// finished edit is offered on it.
    pub(super) fn offer(&mut self, uri: &str) -> Option<String> {
        let n = self.files.iter().position(|f| f.uri == uri && f.shown.is_some())?;
        self.files[n].offered = true;
        Some(self.call_id(n))
    }

    /// Tool calls shown while written whose edit was never offered, with the file.
    fn unoffered(&self) -> Vec<(String, &Path)> {
        (0..self.files.len())
            .filter(|&n| self.files[n].shown.is_some() && !self.files[n].offered)
            .map(|n| (self.call_id(n), self.files[n].path.as_path()))
            .collect()
    }

    /// Takes a piece; the file's index if its diff is due to be shown.
    fn push(&mut self, call: String, uri: String, range: Range, text: &str) -> Option<usize> {
        match self.calls.iter_mut().find(|(key, _)| *key == call) {
            Some((_, edit)) => edit.new_text.push_str(text),
            None => {
                // The same lines again: the model's correction of an edit
                // (refused, or replaced), shown in its place.
                self.calls.retain(|(_, e)| !(e.uri == uri && e.range == range));
                self.calls.push((call, TextEdit { uri: uri.clone(), range, new_text: text.to_owned() }));
            }
        }
        let n = match self.files.iter().position(|f| f.uri == uri) {
            Some(n) => n,
            None => {
                let path = crate::platform::uri::to_path(&uri)?;
                self.files.push(LiveFile { uri, path, old: None, shown: None, offered: false });
                self.files.len() - 1
            }
        };
        let due = self.files[n].shown.is_none_or(|at| at.elapsed() >= EVERY);
        due.then_some(n)
    }

    /// The file as it reads with the edits so far: text that stops mid-line
    /// is ended there, the old lines below it kept.
    fn proposal(&self, n: usize) -> Option<String> {
        let file = &self.files[n];
        let edits: Vec<TextEdit> = self
            .calls
            .iter()
            .filter(|(_, e)| e.uri == file.uri)
            .map(|(_, e)| {
                let mut e = e.clone();
                if !e.new_text.is_empty() && !e.new_text.ends_with('\n') {
                    e.new_text.push('\n');
                }
                e
            })
            .collect();
        crate::services::documents::apply_edits(file.old.as_deref()?, &edits.iter().collect::<Vec<_>>())
    }
}

impl Shared {
    /// A file's text: through the client when it offers reads (its buffer),
    /// else from the disk.
    pub(super) async fn read(&self, cx: &ConnectionTo<Client>, sid: &SessionId, path: &Path) -> anyhow::Result<String> {
        if self.can_read.load(Ordering::Relaxed) {
            let read = cx.send_request(ReadTextFileRequest::new(sid.clone(), path.to_path_buf())).block_task().await;
            return read.map(|r| r.content).map_err(|err| anyhow::anyhow!("{err}"));
        }
        Ok(tokio::fs::read_to_string(path).await?)
    }

    /// Ends each tool call shown while written whose edit was not offered.
    pub(super) fn close_unoffered(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        live: &LiveEdits,
    ) -> acp::Result<()> {
        for (id, path) in live.unoffered() {
            let note = format!("Not proposed: the edit of {} did not complete.", path.display());
            let fields =
                ToolCallUpdateFields::new().status(ToolCallStatus::Failed).content(vec![ToolCallContent::from(note)]);
            update(cx, sid, SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(id, fields)))?;
        }
        Ok(())
    }

    /// A `run_edit` piece: the file's diff shown or brought up to date.
    pub(super) async fn live_edit(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        agent: &str,
        live: &mut LiveEdits,
        (call, uri, range, text): (String, String, Range, String),
    ) -> acp::Result<()> {
        let Some(n) = live.push(call, uri, range, &text) else { return Ok(()) };
        if live.files[n].old.is_none() {
            let path = live.files[n].path.clone();
            // A file not there yet is one the edit creates.
            live.files[n].old = Some(self.read(cx, sid, &path).await.unwrap_or_default());
        }
        let Some(new) = live.proposal(n) else { return Ok(()) };
        let id = live.call_id(n);
        let file = &mut live.files[n];
        let diff = ToolCallContent::from(Diff::new(file.path.clone(), new).old_text(file.old.clone()));
        let first = file.shown.is_none();
        file.shown = Some(Instant::now());
        if first {
            let call = ToolCall::new(id, format!("{agent}: editing {}", file.path.display()))
                .kind(ToolKind::Edit)
                .status(ToolCallStatus::InProgress)
                .content(vec![diff])
                .locations(vec![ToolCallLocation::new(file.path.clone())]);
            update(cx, sid, SessionUpdate::ToolCall(call))
        } else {
            let fields = ToolCallUpdateFields::new().content(vec![diff]);
            update(cx, sid, SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(id, fields)))
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::documents::Position;

    use super::*;

    fn lines(start: u32, end: u32) -> Range {
        Range { start: Position { line: start, character: 0 }, end: Position { line: end, character: 0 } }
    }

    #[test]
    fn pieces_join_per_call_and_the_file_reads_with_the_edit_so_far() {
        let mut live = LiveEdits::default();
        let uri = "file:///p/src/lib.rs".to_owned();
        assert_eq!(live.push("0.0".into(), uri.clone(), lines(1, 3), "B"), Some(0), "the first piece is shown");
        live.files[0].old = Some("a\nb\nc\nd\n".into());
        assert_eq!(live.proposal(0).as_deref(), Some("a\nB\nd\n"), "mid-line: ended there, the rest below kept");
        live.files[0].shown = Some(Instant::now());
        assert_eq!(live.push("0.0".into(), uri.clone(), lines(1, 3), "1\nC2\n"), None, "not again within 100 ms");
        assert_eq!(live.proposal(0).as_deref(), Some("a\nB1\nC2\nd\n"));
        live.files[0].shown = Some(Instant::now() - EVERY);
        assert_eq!(live.push("0.1".into(), uri, lines(0, 0), "// new\n"), Some(0), "due again");
        assert_eq!(live.proposal(0).as_deref(), Some("// new\na\nB1\nC2\nd\n"));
        let mut other = LiveEdits::new("r1");
        assert_eq!(other.offer("file:///p/src/lib.rs"), None, "nothing shown: a tool call of its own");
        live.run_id = "r1".into();
        assert_eq!(live.unoffered().len(), 1);
        assert_eq!(live.offer("file:///p/src/lib.rs").as_deref(), Some("r1-writing-0"));
        assert!(live.unoffered().is_empty(), "offered: not closed as unfinished");
        assert_eq!(live.push("0.2".into(), "not a file uri".into(), lines(0, 0), "x"), None);
    }

    /// A refused edit written again (a later call, the same lines): the diff
    /// shows the new one in its place, not neither.
    #[test]
    fn the_same_lines_again_show_in_place_of_the_earlier_edit() {
        let mut live = LiveEdits::default();
        let uri = "file:///p/src/lib.rs".to_owned();
        live.push("0.0".into(), uri.clone(), lines(1, 2), "broken\n");
        live.files[0].old = Some("a\nb\nc\n".into());
        live.push("1.0".into(), uri, lines(1, 2), "fixed\n");
        assert_eq!(live.proposal(0).as_deref(), Some("a\nfixed\nc\n"));
    }
}
